"""Partner fuelings: matching to the driver (phone) and vehicle (plate), the partner batch's
storage (store_fuelings: the partner fueling dedupe by event_id, ON CONFLICT DO NOTHING;
the consumer is services/driver/dependencies.py) and the driver's own list."""
from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite

from shared.db import new_id, paginate, utcnow

from services.driver.models import DriverProfile, Fueling, Vehicle

FUELINGS = Fueling.__table__


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
