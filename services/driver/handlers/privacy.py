"""Personal-data lifecycle: what driver holds of a person, and its erasure."""
from sqlalchemy import delete, select

from shared.db import utcnow

from services.driver import retention
from services.driver.handlers import drivers
from services.driver.handlers import trips as trip_log
from services.driver.handlers import washes as wash_bookings
from services.driver.models import DriverProfile, Fueling, LocationConsent, LocationPing, Trip, Vehicle, WashBooking


def export_person(session, person_id) -> dict:
    profile = session.get(DriverProfile, person_id)
    trips = session.scalars(trip_log.trips_stmt(person_id=person_id).order_by(Trip.date, Trip.odometer_start)).all()
    washes = session.scalars(wash_bookings.washes_stmt(person_id)).all()
    pings = session.scalars(select(LocationPing).where(LocationPing.person_id == person_id)
                            .order_by(LocationPing.at)).all()
    fuelings = session.scalars(select(Fueling).where(Fueling.person_id == person_id)
                               .order_by(Fueling.fueled_at)).all()
    consent = session.get(LocationConsent, person_id)
    return {
        "profile": {"role": "controller", "data": drivers.me(session, person_id) if profile else None},
        "driving_log": {"role": "controller", "items": trips},
        "wash_bookings": {"role": "controller", "items": washes},
        "location": {"role": "controller", "consent": consent.status if consent else None, "items": pings},
        "fuelings": {"role": "processor", "items": fuelings},
    }


def erase_person(session, person_id) -> dict:
    """Anonymise what may go; keep (and say so) the driving log and vehicle fuelings,
    which the customer company needs as tax and fleet records."""
    profile = session.get(DriverProfile, person_id)
    if profile is not None and profile.erased_at is None:
        profile.first_name = profile.last_name = profile.email = profile.phone = None
        profile.erased_at = utcnow()
    session.execute(delete(LocationPing).where(LocationPing.person_id == person_id))
    session.execute(delete(LocationConsent).where(LocationConsent.person_id == person_id))
    for booking in session.scalars(select(WashBooking).where(WashBooking.person_id == person_id)):
        booking.phone = None
        booking.person_id = None
    fuelings = session.scalars(select(Fueling).where(Fueling.person_id == person_id)).all()
    for fueling in fuelings:
        fueling.phone = None
    trips = session.scalars(trip_log.trips_stmt(person_id=person_id)).all()
    for trip in trips:
        trip.added_by_name = None
    # held for the organisation that used the vehicle when the row was made
    held = {(t.vehicle_id, t.organisation_id) for t in trips} | {
        (f.vehicle_id, f.organisation_id) for f in fuelings if f.vehicle_id}
    contract_ends = dict(session.execute(select(Vehicle.vehicle_id, Vehicle.contract_ends_on).where(
        Vehicle.vehicle_id.in_({vehicle_id for vehicle_id, _ in held}))).all())
    retained = []
    for vehicle_id, organisation_id in sorted(held, key=lambda pair: (pair[0], pair[1] or "")):
        vehicle_trips = [t for t in trips if (t.vehicle_id, t.organisation_id) == (vehicle_id, organisation_id)]
        if vehicle_trips:
            retained.append({"data": f"driving log of vehicle {vehicle_id} ({len(vehicle_trips)} entries)",
                             "legal_basis": "Tax documentation of the car benefit (Verotusmenettelylaki 1558/1995, "
                                            "6 years from the end of the tax year); erased on the customer "
                                            "company's instruction",
                             "until": retention.driving_log_until(max(t.date for t in vehicle_trips)),
                             "held_for": organisation_id})
        vehicle_fuelings = [f for f in fuelings if (f.vehicle_id, f.organisation_id) == (vehicle_id, organisation_id)]
        if vehicle_fuelings:
            retained.append({"data": f"fuelings of vehicle {vehicle_id} (phone removed)",
                             "legal_basis": "Processor: fleet usage data processed on behalf of the customer "
                                            "company (SPEC §3); erased on its instruction",
                             "until": retention.fuelings_until(max(f.fueled_at for f in vehicle_fuelings),
                                                               contract_ends.get(vehicle_id)),
                             "held_for": organisation_id})
    return {"anonymised": ["driver profile (name, phone, email)", "location pings and consent state",
                           "wash bookings (phone, link to the person)", "fuelings (phone)",
                           "driving log (the name of who added each entry)"],
            "retained": retained}
