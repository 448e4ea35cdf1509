"""What fleet managers (and staff) see of a vehicle's use in driver: its trips (a private
trip without its places) and fuelings while the caller's organisations used it."""
from sqlalchemy import func, select

from shared.db import in_scope, is_staff, paginate

from services.driver.handlers import trips
from services.driver.models import Fueling, Trip


def vehicle_trips(session, vehicle_id, scope, filters, limit, cursor):
    """The driving log of a vehicle while the caller's organisations used it."""
    stmt = trips.trips_stmt(vehicle_id=vehicle_id, year=filters.get("year")).where(
        in_scope(Trip.organisation_id, scope))
    return paginate(session, stmt, (Trip.date, Trip.odometer_start, Trip.id), limit, cursor)


PRIVATE_TRIP_DETAILS = ("start_point", "end_point", "purpose")


def as_seen_by(scope, trip: dict) -> dict:
    """A company has no need for where its driver went privately: only staff and the
    driver see the places of a private trip; a fleet manager sees its km."""
    if trip["trip_type"] != "private" or is_staff(scope):
        return trip
    return {**trip, **{field: None for field in PRIVATE_TRIP_DETAILS}}


def vehicle_fuelings(session, vehicle_id, scope, limit, cursor):
    """The fuelings of a vehicle while the caller's organisations used it."""
    stmt = select(Fueling).where(Fueling.vehicle_id == vehicle_id, in_scope(Fueling.organisation_id, scope))
    return paginate(session, stmt, (Fueling.fueled_at, Fueling.id), limit, cursor)


def vehicle_summary(session, vehicle_id, scope) -> dict:
    latest = session.scalars(select(Fueling).where(Fueling.vehicle_id == vehicle_id,
                                                   in_scope(Fueling.organisation_id, scope))
                             .order_by(Fueling.fueled_at.desc(), Fueling.id.desc()).limit(5)).all()
    rows = session.execute(select(Trip.trip_type, func.count(), func.coalesce(func.sum(Trip.km), 0),
                                  func.max(Trip.date)).where(Trip.vehicle_id == vehicle_id,
                                                             in_scope(Trip.organisation_id, scope))
                           .group_by(Trip.trip_type)).all()
    kms = {trip_type: km for trip_type, _, km, _ in rows}
    dates = [last for *_, last in rows if last]
    trips = {"count": sum(count for _, count, _, _ in rows), "work_km": kms.get("work", 0),
             "private_km": kms.get("private", 0), "last_date": max(dates) if dates else None}
    return {"latest_fuelings": latest, "trips": trips}
