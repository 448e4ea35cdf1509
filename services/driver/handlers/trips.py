"""The driving log: trips of a driver (continuous odometer, idempotent by client_id), the
year's summary and the log for the CSV and PDF exports."""
import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from shared.db import paginate, publish, savepoint, utcnow
from shared.messaging import TRIP_LOGGED

from services.driver import schemas
from services.driver.exceptions import IdempotencyKeyReused, OdometerGap
from services.driver.handlers import drivers
from services.driver.models import DriverProfile, Trip, Vehicle


TRIP_FIELDS = ("date", "started_at", "ended_at", "odometer_start", "odometer_end", "trip_type", "start_point",
               "end_point", "purpose", "gap_explanation")


def log_trip(session, person_id, account_id, data) -> tuple[Trip, bool]:
    """(trip, created). An entry whose client_id this driver already used is not stored
    again: the first one is returned (created False), or 409 if its content differs. A new
    entry is sent as driver.trip_logged after the commit."""
    if data.get("client_id"):
        existing = _trip_by_client_id(session, person_id, data)
        if existing is not None:
            return existing, False
    vehicle = drivers.require_vehicle(session, person_id)
    try:
        _check_continuous(session, vehicle.vehicle_id, data)
    except OdometerGap:  # perhaps the same entry, committed by a concurrent request since we looked
        existing = _trip_by_client_id(session, person_id, data) if data.get("client_id") else None
        if existing is None:
            raise
        return existing, False
    trip = Trip(vehicle_id=vehicle.vehicle_id, person_id=person_id, added_by=account_id,
                organisation_id=vehicle.user_organisation_id,
                added_by_name=drivers.name_of(session.get(DriverProfile, person_id)),
                km=data["odometer_end"] - data["odometer_start"], **data)
    try:
        with savepoint(session):
            session.add(trip)
    except IntegrityError:  # the same client_id sent twice at once: the other request stored it
        existing = _trip_by_client_id(session, person_id, data) if data.get("client_id") else None
        if existing is None:
            raise
        return existing, False
    publish(session, TRIP_LOGGED, schemas.TripLoggedEvent().dump(trip))
    return trip, True


def _trip_by_client_id(session, person_id, data) -> Trip | None:
    trip = session.scalars(select(Trip).where(Trip.person_id == person_id,
                                              Trip.client_id == data["client_id"])).first()
    if trip is not None and any(getattr(trip, field) != data[field] for field in TRIP_FIELDS):
        raise IdempotencyKeyReused(details={"client_id": data["client_id"], "trip_id": trip.id})
    return trip


def _check_continuous(session, vehicle_id, data) -> None:
    previous_end = session.scalar(select(func.max(Trip.odometer_end)).where(Trip.vehicle_id == vehicle_id))
    if previous_end is None or data["odometer_start"] == previous_end:
        return
    details = {"previous_odometer_end": previous_end, "odometer_start": data["odometer_start"]}
    if data["odometer_start"] < previous_end:
        raise OdometerGap(f"Odometer at start ({data['odometer_start']} km) is before the end of the latest "
                          f"entry ({previous_end} km): the log already has a newer entry", details)
    if not data.get("gap_explanation"):
        raise OdometerGap(f"Odometer at start ({data['odometer_start']} km) does not continue from the latest "
                          f"entry ({previous_end} km); explain the gap", details)


def trips_stmt(person_id=None, vehicle_id=None, year=None):
    stmt = select(Trip)
    if person_id is not None:
        stmt = stmt.where(Trip.person_id == person_id)
    if vehicle_id is not None:
        stmt = stmt.where(Trip.vehicle_id == vehicle_id)
    if year is not None:
        stmt = stmt.where(Trip.date >= dt.date(year, 1, 1), Trip.date <= dt.date(year, 12, 31))
    return stmt


def list_trips(session, filters, limit, cursor, person_id):
    """The driver's own driving log, whichever vehicles it was on."""
    stmt = trips_stmt(person_id=person_id, year=filters.get("year"))
    return paginate(session, stmt, (Trip.date, Trip.odometer_start, Trip.id), limit, cursor)


def _totals(trips) -> dict:
    """Totals of trips in log order (date, odometer)."""
    work = sum(t.km for t in trips if t.trip_type == "work")
    private = sum(t.km for t in trips if t.trip_type == "private")
    return {"trips": len(trips), "work_km": work, "private_km": private, "total_km": work + private,
            "first_odometer": trips[0].odometer_start if trips else None,
            "last_odometer": trips[-1].odometer_end if trips else None}


def _year_trips(session, person_id, year) -> list[Trip]:
    return session.scalars(trips_stmt(person_id=person_id, year=year)
                           .order_by(Trip.date, Trip.odometer_start, Trip.id)).all()


def trip_summary(session, person_id, year) -> dict:
    return {"year": year, **_totals(_year_trips(session, person_id, year))}


def driving_log(session, person_id, year) -> dict:
    """A year of the driver's log, one section per vehicle, for the CSV and PDF exports."""
    profile = drivers.get_profile(session, person_id)
    trips = _year_trips(session, person_id, year)
    vehicles = {v.vehicle_id: v for v in session.scalars(
        select(Vehicle).where(Vehicle.vehicle_id.in_({t.vehicle_id for t in trips})))}
    sections = []
    for vehicle_id in dict.fromkeys(t.vehicle_id for t in trips):
        vehicle = vehicles.get(vehicle_id)
        vehicle_trips = [t for t in trips if t.vehicle_id == vehicle_id]
        sections.append({"vehicle_id": vehicle_id,
                         "registration_number": vehicle.registration_number if vehicle else None,
                         "make_model": " ".join(filter(None, (vehicle.make, vehicle.model))) if vehicle else "",
                         "trips": vehicle_trips, "totals": _totals(vehicle_trips)})
    return {"year": year, "driver": drivers.name_of(profile),
            "vehicles": sections, "totals": _totals(trips), "generated_at": utcnow()}
