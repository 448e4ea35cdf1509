"""Odometer readings: never backwards; a logged trip's end km becomes a driver_log reading."""
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from shared.db import STAFF_SCOPE, in_scope, paginate, savepoint
from shared.logging import get_logger

from services.fleet import exceptions as exc
from services.fleet.handlers import vehicles
from services.fleet.models import OdometerReading, Vehicle

log = get_logger(__name__)


def latest_reading(session, vehicle_id, scope) -> OdometerReading | None:
    return latest_readings(session, [vehicle_id], scope).get(vehicle_id)


def latest_readings(session, vehicle_ids, scope) -> dict[str, OdometerReading]:
    """The highest reading in scope (the later one on a tie) of each vehicle, in one query."""
    ranked = select(OdometerReading, func.row_number().over(
        partition_by=OdometerReading.vehicle_id,
        order_by=(OdometerReading.km.desc(), OdometerReading.read_on.desc())).label("rank")
    ).where(OdometerReading.vehicle_id.in_(vehicle_ids), in_scope(OdometerReading.organisation_id, scope)).subquery()
    latest = aliased(OdometerReading, ranked)
    return {reading.vehicle_id: reading for reading in session.scalars(select(latest).where(ranked.c.rank == 1))}


def add_reading(session, vehicle_id, data, source_ref=None, organisation_id=None) -> OdometerReading:
    """A reading must not be below one taken on or before its date, nor above one taken on
    or after it (409). It belongs to `organisation_id`, by default the vehicle's user now."""
    vehicle = vehicles.get_vehicle(session, vehicle_id, STAFF_SCOPE)
    km, read_on = data["km"], data["read_on"]
    contradicting = session.scalars(select(OdometerReading).where(
        OdometerReading.vehicle_id == vehicle_id,
        or_(and_(OdometerReading.read_on <= read_on, OdometerReading.km > km),
            and_(OdometerReading.read_on >= read_on, OdometerReading.km < km)))
        .order_by(OdometerReading.read_on)).first()
    if contradicting is not None:
        raise exc.OdometerBackwards(details={"km": km, "read_on": read_on.isoformat(),
                                             "conflicts_with": {"km": contradicting.km,
                                                                "read_on": contradicting.read_on.isoformat()}})
    reading = OdometerReading(vehicle_id=vehicle_id, source_ref=source_ref,
                              organisation_id=organisation_id or vehicle.user_organisation_id, **data)
    session.add(reading)
    session.flush()  # its id, for the answer
    return reading


def list_readings(session, vehicle_id, scope, limit, cursor):
    vehicles.held_vehicle(session, vehicle_id, scope)
    stmt = select(OdometerReading).where(OdometerReading.vehicle_id == vehicle_id,
                                         in_scope(OdometerReading.organisation_id, scope))
    return paginate(session, stmt, (OdometerReading.read_on, OdometerReading.km, OdometerReading.id), limit, cursor)


def record_trip(session, data) -> OdometerReading | None:
    """A logged trip's end km as a driver_log reading; idempotent by trip id. A trip that
    contradicts the known readings is logged and skipped (the driver's log is theirs to fix)."""
    exists = session.scalars(select(OdometerReading.id).where(OdometerReading.source == "driver_log",
                                                              OdometerReading.source_ref == data["trip_id"])).first()
    if exists or session.get(Vehicle, data["vehicle_id"]) is None:
        return None
    try:
        with savepoint(session):  # (source, source_ref) is unique: the same event handled by another worker
            return add_reading(session, data["vehicle_id"], {"km": data["odometer_end"], "read_on": data["date"],
                                                             "source": "driver_log"}, source_ref=data["trip_id"],
                               organisation_id=data.get("organisation_id"))
    except (exc.OdometerBackwards, IntegrityError):
        log.info("fleet.trip_reading_skipped", vehicle_id=data["vehicle_id"], trip_id=data["trip_id"])
        return None
