"""Driver use cases: plain functions over a Session. Each commits what it changes."""
import datetime as dt
import functools

from sqlalchemy import delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from shared.db import in_scope, is_staff, new_id, paginate, utcnow
from shared.spreadsheet import safe_row

from services.driver import retention
from services.driver.exceptions import (ConsentRequired, IdempotencyKeyReused, NoVehicle, OdometerGap,
                                        ProfileNotFound, WashInPast, WashNotFound, WashNotIncluded)
from services.driver.models import (DriverProfile, Fueling, LocationConsent, LocationPing, Trip, Vehicle,
                                    WashBooking)

CELEBRATION_WASH = "celebration_wash"
LOCATION_TRACKING = "location_tracking"
FUELINGS = Fueling.__table__


# --- read models -------------------------------------------------------------------

def retry_on_conflict(apply):
    """Read-model upserts: two events creating the same row at once (e.g. vehicle_assigned
    and contract_changed handled by two workers) collide on the primary key; the loser
    rolls back and applies again over the winner's row."""
    @functools.wraps(apply)
    def wrapper(session, data):
        try:
            return apply(session, data)
        except IntegrityError:
            session.rollback()
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
    matched = match_pending(session, phones=[profile.phone] if profile.phone else [])
    session.commit()
    return matched


def _vehicle(session, vehicle_id) -> Vehicle:
    vehicle = session.get(Vehicle, vehicle_id)
    if vehicle is None:
        vehicle = Vehicle(vehicle_id=vehicle_id, add_on_services=[])
        session.add(vehicle)
    return vehicle


@retry_on_conflict
def apply_vehicle_assigned(session, data) -> list[Fueling]:
    vehicle = _vehicle(session, data["vehicle_id"])
    for field in ("registration_number", "driver_person_id", "user_organisation_id", "make", "model"):
        setattr(vehicle, field, data[field])
    session.flush()
    matched = match_pending(session, plates=[vehicle.registration_number] if vehicle.registration_number else [])
    session.commit()
    return matched


@retry_on_conflict
def apply_contract_changed(session, data) -> list[Fueling]:
    vehicle = _vehicle(session, data["vehicle_id"])
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
    matched = match_pending(session, plates=[vehicle.registration_number] if vehicle.registration_number else [])
    session.commit()
    return matched


def _name(profile) -> str | None:
    return " ".join(filter(None, (profile.first_name, profile.last_name))) or None if profile else None


def get_profile(session, person_id) -> DriverProfile:
    profile = session.get(DriverProfile, person_id)
    if profile is None:
        raise ProfileNotFound()
    return profile


def driver_vehicle(session, person_id) -> Vehicle | None:
    return session.scalars(select(Vehicle).where(Vehicle.driver_person_id == person_id)
                           .order_by(Vehicle.updated_at.desc()).limit(1)).first()


def _require_vehicle(session, person_id) -> Vehicle:
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


def home(session, person_id) -> dict:
    """me() plus the latest partner fuelings and the next wash booking."""
    latest = session.scalars(select(Fueling).where(Fueling.person_id == person_id)
                             .order_by(Fueling.fueled_at.desc(), Fueling.id.desc()).limit(3)).all()
    next_wash = session.scalars(_washes_stmt(person_id).where(WashBooking.cancelled_at.is_(None),
                                                              WashBooking.wash_at > utcnow())
                                .order_by(WashBooking.wash_at).limit(1)).first()
    return {**me(session, person_id), "latest_fuelings": latest, "next_wash": next_wash}


# --- driving log -------------------------------------------------------------------

TRIP_FIELDS = ("date", "started_at", "ended_at", "odometer_start", "odometer_end", "trip_type", "start_point",
               "end_point", "purpose", "gap_explanation")


def log_trip(session, person_id, account_id, data) -> tuple[Trip, bool]:
    """(trip, created). An entry whose client_id this driver already used is not stored
    again: the first one is returned (created False), or 409 if its content differs."""
    if data.get("client_id"):
        existing = _trip_by_client_id(session, person_id, data)
        if existing is not None:
            return existing, False
    vehicle = _require_vehicle(session, person_id)
    _check_continuous(session, vehicle.vehicle_id, data)
    trip = Trip(vehicle_id=vehicle.vehicle_id, person_id=person_id, added_by=account_id,
                organisation_id=vehicle.user_organisation_id,
                added_by_name=_name(session.get(DriverProfile, person_id)),
                km=data["odometer_end"] - data["odometer_start"], **data)
    session.add(trip)
    try:
        session.commit()
    except IntegrityError:  # the same client_id sent twice at once: the other request stored it
        session.rollback()
        existing = _trip_by_client_id(session, person_id, data) if data.get("client_id") else None
        if existing is None:
            raise
        return existing, False
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


def _trips_stmt(person_id=None, vehicle_id=None, year=None):
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
    stmt = _trips_stmt(person_id=person_id, year=filters.get("year"))
    return paginate(session, stmt, (Trip.date, Trip.odometer_start, Trip.id), limit, cursor)


def vehicle_trips(session, vehicle_id, scope, filters, limit, cursor):
    """The driving log of a vehicle while the caller's organisations used it."""
    stmt = _trips_stmt(vehicle_id=vehicle_id, year=filters.get("year")).where(in_scope(Trip.organisation_id, scope))
    return paginate(session, stmt, (Trip.date, Trip.odometer_start, Trip.id), limit, cursor)


PRIVATE_TRIP_DETAILS = ("start_point", "end_point", "purpose")


def as_seen_by(scope, trip: dict) -> dict:
    """A company has no need for where its driver went privately: only staff and the
    driver see the places of a private trip; a fleet manager sees its km."""
    if trip["trip_type"] != "private" or is_staff(scope):
        return trip
    return {**trip, **{field: None for field in PRIVATE_TRIP_DETAILS}}


def _totals(trips) -> dict:
    """Totals of trips in log order (date, odometer)."""
    work = sum(t.km for t in trips if t.trip_type == "work")
    private = sum(t.km for t in trips if t.trip_type == "private")
    return {"trips": len(trips), "work_km": work, "private_km": private, "total_km": work + private,
            "first_odometer": trips[0].odometer_start if trips else None,
            "last_odometer": trips[-1].odometer_end if trips else None}


def _year_trips(session, person_id, year) -> list[Trip]:
    return session.scalars(_trips_stmt(person_id=person_id, year=year)
                           .order_by(Trip.date, Trip.odometer_start, Trip.id)).all()


def trip_summary(session, person_id, year) -> dict:
    return {"year": year, **_totals(_year_trips(session, person_id, year))}


def driving_log(session, person_id, year) -> dict:
    """A year of the driver's log, one section per vehicle, for the CSV and PDF exports."""
    profile = get_profile(session, person_id)
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
    return {"year": year, "driver": _name(profile),
            "vehicles": sections, "totals": _totals(trips), "generated_at": utcnow()}


# --- tire storage and washes -------------------------------------------------------

def set_tire_storage(session, vehicle_id, location) -> Vehicle:
    vehicle = _vehicle(session, vehicle_id)
    vehicle.tire_storage = location
    vehicle.tire_storage_updated_at = utcnow()
    session.commit()
    return vehicle


def my_tire_storage(session, person_id) -> Vehicle:
    return _require_vehicle(session, person_id)


def book_wash(session, person_id, data) -> WashBooking:
    vehicle = _require_vehicle(session, person_id)
    if CELEBRATION_WASH not in (vehicle.add_on_services or []):
        raise WashNotIncluded()
    phone = data.get("phone") or get_profile(session, person_id).phone
    booking = WashBooking(person_id=person_id, vehicle_id=vehicle.vehicle_id,
                          registration_number=vehicle.registration_number, phone=phone,
                          wash_at=data["wash_at"], wash=data["wash"], place=data["place"])
    session.add(booking)
    session.commit()
    return booking


def _washes_stmt(person_id):
    return select(WashBooking).where(WashBooking.person_id == person_id)


def list_washes(session, person_id, limit, cursor):
    return paginate(session, _washes_stmt(person_id), (WashBooking.created_at, WashBooking.id), limit, cursor)


def cancel_wash(session, person_id, booking_id) -> WashBooking:
    """Idempotent; a booking of someone else is 404, a past one 409."""
    booking = session.scalars(_washes_stmt(person_id).where(WashBooking.id == booking_id)).first()
    if booking is None:
        raise WashNotFound()
    if booking.cancelled_at is None:
        if booking.wash_at <= utcnow():
            raise WashInPast()
        booking.cancelled_at = utcnow()
        session.commit()
    return booking


# --- location ----------------------------------------------------------------------

@retry_on_conflict
def apply_consent(session, data) -> int:
    """Keeps the latest location_tracking consent; purges the pings unless granted.
    Returns how many pings were purged."""
    if data["purpose"] != LOCATION_TRACKING:
        return 0
    consent = session.get(LocationConsent, data["person_id"])
    if consent is None:
        consent = LocationConsent(person_id=data["person_id"], status=data["status"], at=data["at"])
        session.add(consent)
    elif data["at"] >= consent.at:
        consent.status, consent.at = data["status"], data["at"]
    purged = 0
    if consent.status != "granted":
        purged = session.execute(delete(LocationPing).where(LocationPing.person_id == data["person_id"])).rowcount
    session.commit()
    return purged


def add_ping(session, person_id, data) -> LocationPing:
    consent = session.get(LocationConsent, person_id)
    if consent is None or consent.status != "granted":
        raise ConsentRequired()
    ping = LocationPing(person_id=person_id, **data)
    session.add(ping)
    session.commit()
    return ping


def list_pings(session, person_id, limit, cursor):
    stmt = select(LocationPing).where(LocationPing.person_id == person_id)
    return paginate(session, stmt, (LocationPing.at, LocationPing.id), limit, cursor)


# --- fuelings ----------------------------------------------------------------------

def resolve(session, phones, plates):
    """(phone -> person_id, plate -> (vehicle_id, its user organisation now)) for the given values."""
    persons = dict(session.execute(select(DriverProfile.phone, DriverProfile.person_id).where(
        DriverProfile.phone.in_(set(phones)), DriverProfile.erased_at.is_(None))).all()) if phones else {}
    vehicles = {plate: (vehicle_id, organisation_id) for plate, vehicle_id, organisation_id in session.execute(
        select(Vehicle.registration_number, Vehicle.vehicle_id, Vehicle.user_organisation_id).where(
            Vehicle.registration_number.in_(set(plates))))} if plates else {}
    return persons, vehicles


def match_pending(session, phones=(), plates=()) -> list[Fueling]:
    """Match unmatched fuelings whose phone or plate just became known (no commit)."""
    phones, plates = [p for p in phones if p], [p for p in plates if p]
    if not phones and not plates:
        return []
    conditions = []
    if phones:
        conditions.append(Fueling.phone.in_(phones))
    if plates:
        conditions.append(Fueling.registration_number.in_(plates))
    pending = session.scalars(select(Fueling).where(Fueling.matched_at.is_(None), or_(*conditions))).all()
    if not pending:
        return []
    persons, vehicles = resolve(session, [f.phone for f in pending], [f.registration_number for f in pending])
    matched = []
    for fueling in pending:
        fueling.person_id = fueling.person_id or persons.get(fueling.phone)
        if fueling.vehicle_id is None:
            fueling.vehicle_id, fueling.organisation_id = vehicles.get(fueling.registration_number, (None, None))
        if fueling.person_id and fueling.vehicle_id:
            fueling.matched_at = utcnow()
            matched.append(fueling)
    return matched


def store_fuelings(session, items) -> list:
    """Insert validated partner fuelings (an event_id already stored is ignored) and commit;
    return the batch's matched fuelings (column dicts, or rows for those stored by an earlier
    delivery of the same event: they are announced again, consumers are idempotent)."""
    now = utcnow()
    persons, vehicles = resolve(session, [i["phone"] for i in items], [i["registration_number"] for i in items])
    values = []
    for item in items:
        person_id = persons.get(item["phone"])
        vehicle_id, organisation_id = vehicles.get(item["registration_number"], (None, None))
        values.append({**item, "id": new_id(), "received_at": now, "person_id": person_id, "vehicle_id": vehicle_id,
                       "organisation_id": organisation_id, "matched_at": now if person_id and vehicle_id else None})
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(FUELINGS)
    inserted = set(session.scalars(insert.on_conflict_do_nothing(index_elements=["event_id"])
                                   .returning(FUELINGS.c.event_id), values).all())
    session.commit()
    matched = [v for v in values if v["event_id"] in inserted and v["matched_at"]]
    redelivered = [v["event_id"] for v in values if v["event_id"] not in inserted]
    if redelivered:
        matched += session.scalars(select(Fueling).where(Fueling.event_id.in_(redelivered),
                                                         Fueling.matched_at.is_not(None))).all()
    return matched


def list_fuelings(session, limit, cursor, person_id):
    """The driver's own fuelings."""
    stmt = select(Fueling).where(Fueling.person_id == person_id)
    return paginate(session, stmt, (Fueling.fueled_at, Fueling.id), limit, cursor)


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


# --- personal-data lifecycle -------------------------------------------------------

def export_person(session, person_id) -> dict:
    profile = session.get(DriverProfile, person_id)
    trips = session.scalars(_trips_stmt(person_id=person_id).order_by(Trip.date, Trip.odometer_start)).all()
    washes = session.scalars(_washes_stmt(person_id)).all()
    pings = session.scalars(select(LocationPing).where(LocationPing.person_id == person_id)
                            .order_by(LocationPing.at)).all()
    fuelings = session.scalars(select(Fueling).where(Fueling.person_id == person_id)
                               .order_by(Fueling.fueled_at)).all()
    consent = session.get(LocationConsent, person_id)
    return {
        "profile": {"role": "controller", "data": me(session, person_id) if profile else None},
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
    trips = session.scalars(_trips_stmt(person_id=person_id)).all()
    for trip in trips:
        trip.added_by_name = None
    # held for the organisation that used the vehicle when the row was made
    held = {(t.vehicle_id, t.organisation_id) for t in trips} | {
        (f.vehicle_id, f.organisation_id) for f in fuelings if f.vehicle_id}
    contract_ends = dict(session.execute(select(Vehicle.vehicle_id, Vehicle.contract_ends_on).where(
        Vehicle.vehicle_id.in_({vehicle_id for vehicle_id, _ in held}))).all())
    session.commit()
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
