"""Drivers: their profile and vehicle as driver's read models of identity's persons and
fleet's vehicles and contracts (applied idempotently from the events), and what a driver
sees of them."""
import functools

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shared.db import savepoint

from services.driver.exceptions import NoVehicle, ProfileNotFound
from services.driver.handlers import fuelings
from services.driver.models import DriverProfile, Fueling, Vehicle


def retry_on_conflict(apply):
    """Read-model upserts: two events creating the same row at once (e.g. vehicle_assigned
    and contract_changed handled by two workers) collide on the primary key; the loser
    rolls back to its savepoint and applies again over the winner's row."""
    @functools.wraps(apply)
    def wrapper(session, data):
        try:
            with savepoint(session):
                return apply(session, data)
        except IntegrityError:
            return apply(session, data)
    return wrapper


@retry_on_conflict
def upsert_profile_from_person(session, person) -> list[Fueling]:
    """Idempotent; returns fuelings this person's phone newly matched."""
    profile = session.get(DriverProfile, person["id"]) or DriverProfile(person_id=person["id"])
    if profile.erased_at is None:
        for field in ("first_name", "last_name", "email", "phone"):
            setattr(profile, field, person[field])
    session.add(profile)
    session.flush()
    return fuelings.match_pending(session, phones=[profile.phone] if profile.phone else [])


def vehicle_row(session, vehicle_id) -> Vehicle:
    vehicle = session.get(Vehicle, vehicle_id)
    if vehicle is None:
        vehicle = Vehicle(vehicle_id=vehicle_id, add_on_services=[])
        session.add(vehicle)
    return vehicle


@retry_on_conflict
def apply_vehicle_assigned(session, data) -> list[Fueling]:
    vehicle = vehicle_row(session, data["vehicle_id"])
    for field in ("registration_number", "driver_person_id", "user_organisation_id", "make", "model"):
        setattr(vehicle, field, data[field])
    session.flush()
    return fuelings.match_pending(session, plates=[vehicle.registration_number] if vehicle.registration_number else [])


@retry_on_conflict
def apply_contract_changed(session, data) -> list[Fueling]:
    vehicle = vehicle_row(session, data["vehicle_id"])
    if data["registration_number"]:
        vehicle.registration_number = data["registration_number"]
    if data["driver_person_id"]:
        vehicle.driver_person_id = data["driver_person_id"]
    vehicle.contract_id = data["contract_id"]
    vehicle.contract_status = data["status"]
    vehicle.contract_type = data["contract_type"]
    vehicle.contract_starts_on = data["starts_on"]
    vehicle.contract_ends_on = data["ends_on"]
    vehicle.contract_length_months = data["length_months"]
    vehicle.add_on_services = list(data["add_on_services"] or [])
    vehicle.included_km = data["included_km"]
    vehicle.start_km = data["start_km"]
    session.flush()
    return fuelings.match_pending(session, plates=[vehicle.registration_number] if vehicle.registration_number else [])


def name_of(profile) -> str | None:
    return " ".join(filter(None, (profile.first_name, profile.last_name))) or None if profile else None


def get_profile(session, person_id) -> DriverProfile:
    profile = session.get(DriverProfile, person_id)
    if profile is None:
        raise ProfileNotFound()
    return profile


def driver_vehicle(session, person_id) -> Vehicle | None:
    return session.scalars(select(Vehicle).where(Vehicle.driver_person_id == person_id)
                           .order_by(Vehicle.updated_at.desc()).limit(1)).first()


def require_vehicle(session, person_id) -> Vehicle:
    vehicle = driver_vehicle(session, person_id)
    if vehicle is None:
        raise NoVehicle()
    return vehicle


def me(session, person_id) -> dict:
    profile = get_profile(session, person_id)
    vehicle = driver_vehicle(session, person_id)
    data = {field: getattr(profile, field) for field in ("person_id", "first_name", "last_name", "email", "phone")}
    for field in ("vehicle_id", "registration_number", "make", "model", "contract_id", "contract_type",
                  "contract_status", "contract_starts_on", "contract_ends_on", "contract_length_months",
                  "included_km", "start_km"):
        data[field] = getattr(vehicle, field) if vehicle else None
    data["add_on_services"] = list(vehicle.add_on_services or []) if vehicle else []
    return data
