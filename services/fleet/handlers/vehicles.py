"""Vehicles, who drove them for which organisation, and who may see a vehicle."""
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shared.db import STAFF_SCOPE, in_scope, paginate, publish, savepoint, utcnow, visible
from shared.messaging import VEHICLE_ASSIGNED

from services.fleet import exceptions as exc
from services.fleet import schemas
from services.fleet.models import OPEN_CONTRACT_STATUSES, Contract, Vehicle, VehicleAssignment

ASSIGNMENT_FIELDS = ("driver_person_id", "user_organisation_id", "cost_center")


# --- who may see a vehicle ----------------------------------------------------------

def get_vehicle(session, vehicle_id, scope) -> Vehicle:
    """The vehicle as its current user organisation sees it; outside the caller's scope it does not exist."""
    vehicle = session.get(Vehicle, vehicle_id)
    if vehicle is None or not visible(vehicle.user_organisation_id, scope):
        raise exc.VehicleNotFound()
    return vehicle


def held_vehicle(session, vehicle_id, scope) -> Vehicle:
    """A vehicle the caller's organisations use now or used before (a re-leased car's
    former user still reads its own period of it); otherwise it does not exist."""
    vehicle = session.get(Vehicle, vehicle_id)
    if vehicle is None:
        raise exc.VehicleNotFound()
    if not visible(vehicle.user_organisation_id, scope) and session.scalars(select(VehicleAssignment.id).where(
            VehicleAssignment.vehicle_id == vehicle_id,
            in_scope(VehicleAssignment.user_organisation_id, scope)).limit(1)).first() is None:
        raise exc.VehicleNotFound()
    return vehicle


# --- vehicles -----------------------------------------------------------------------

def create_vehicle(session, data, actor_id=None) -> Vehicle:
    vehicle = Vehicle(**data)
    try:
        with savepoint(session):  # the registration number is unique: another request may have taken it
            session.add(vehicle)
    except IntegrityError:
        raise exc.DuplicateRegistration(details={"registration_number": data["registration_number"]}) from None
    _record_assignment(session, vehicle, actor_id)
    _vehicle_assigned(session, vehicle)
    return vehicle


def update_vehicle(session, vehicle_id, data, actor_id=None) -> Vehicle:
    """An assignment change (driver, user organisation, cost center) is recorded and sent."""
    vehicle = get_vehicle(session, vehicle_id, STAFF_SCOPE)
    previous_driver = vehicle.driver_person_id
    assignment_changed = any(field in data and data[field] != getattr(vehicle, field) for field in ASSIGNMENT_FIELDS)
    try:
        with savepoint(session):
            for field, value in data.items():
                setattr(vehicle, field, value)
    except IntegrityError:
        raise exc.DuplicateRegistration(details={"registration_number": data.get("registration_number")}) from None
    if assignment_changed:
        _record_assignment(session, vehicle, actor_id)
        _vehicle_assigned(session, vehicle, previous_driver)
    return vehicle


def _record_assignment(session, vehicle, actor_id):
    session.add(VehicleAssignment(vehicle_id=vehicle.id, driver_person_id=vehicle.driver_person_id,
                                  user_organisation_id=vehicle.user_organisation_id,
                                  cost_center=vehicle.cost_center, changed_by=actor_id, changed_at=utcnow()))


def _vehicle_assigned(session, vehicle, previous_driver=None):
    payload = schemas.VehicleAssignedEvent().dump(vehicle)
    publish(session, VEHICLE_ASSIGNED, {**payload, "previous_driver_person_id": previous_driver})


def vehicle_history(session, vehicle_id, scope, limit, cursor):
    """The assignments made while the caller's organisations used the vehicle."""
    held_vehicle(session, vehicle_id, scope)
    stmt = select(VehicleAssignment).where(VehicleAssignment.vehicle_id == vehicle_id,
                                           in_scope(VehicleAssignment.user_organisation_id, scope))
    return paginate(session, stmt, (VehicleAssignment.changed_at, VehicleAssignment.id), limit, cursor)


def list_vehicles(session, filters, limit, cursor, scope):
    stmt = select(Vehicle).where(in_scope(Vehicle.user_organisation_id, scope))
    for field in ("status", "cost_center", "driver_person_id", "user_organisation_id", "vehicle_class",
                  "power_source", "registration_number"):
        if field in filters:
            stmt = stmt.where(getattr(Vehicle, field) == filters[field])
    if "contract_ends_before" in filters:
        stmt = stmt.where(Vehicle.id.in_(select(Contract.vehicle_id).where(
            Contract.status.in_(OPEN_CONTRACT_STATUSES), Contract.ends_on < filters["contract_ends_before"])))
    return paginate(session, stmt, (Vehicle.created_at, Vehicle.id), limit, cursor)
