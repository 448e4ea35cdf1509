"""Marketing use cases: plain functions over the entrypoint's Session (shared.db: the unit of
work commits once when the entrypoint returned, then sends the events collected here)."""
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from shared.db import paginate, publish, utcnow
from shared.messaging import CONSENT_CHANGED

from services.marketing import schemas

from services.marketing.exceptions import (ContactNotFound, EventNotFound, PersonErased, ProfilingConsentRequired,
                                           ProhibitionLocked)
from services.marketing.models import (CHANNEL_PURPOSE, PURPOSES, STATUSES, Attendance, Consent, ConsentRecord,
                                       Contact, MarketingEvent)

CHANNEL_ADDRESS = {"email": "email", "sms": "phone", "phone": "phone"}
ERASURE_SOURCE = "erasure"


# consents
def set_consent(session, person_id, purpose, data, actor, by_person) -> Consent:
    """Append a record (the proof) and make it current, and broadcast it. A prohibition is
    lifted only by the person; consent is not granted for an erased person."""
    contact = session.get(Contact, person_id)
    if data["status"] == "granted" and contact is not None and contact.erased_at is not None:
        raise PersonErased()
    current = session.get(Consent, (person_id, purpose))
    if current is not None and current.status == "prohibited" and data["status"] != "prohibited" and not by_person:
        raise ProhibitionLocked(details={"person_id": person_id, "purpose": purpose})
    record = ConsentRecord(person_id=person_id, purpose=purpose, status=data["status"], source=data["source"],
                           channel=data.get("channel"), text_version=data.get("text_version"), by_person=by_person,
                           actor_account_id=actor.get("account_id"), actor_role=actor.get("role"), at=utcnow())
    session.add(record)
    session.flush()
    if current is None:
        current = Consent(person_id=person_id, purpose=purpose)
        session.add(current)
    current.status, current.source, current.by_person = record.status, record.source, by_person
    current.record_id, current.at = record.id, record.at
    if purpose == "profiling" and record.status != "granted":
        _clear_profile(session, person_id)
    session.flush()
    # every change, repeats included: consumers are idempotent and a repeat re-asserts the state
    publish(session, CONSENT_CHANGED, schemas.ConsentChangedEvent().dump(current))
    return current


def consents_of(session, person_id) -> dict:
    current = session.scalars(select(Consent).where(Consent.person_id == person_id)
                              .order_by(Consent.purpose)).all()
    history = session.scalars(select(ConsentRecord).where(ConsentRecord.person_id == person_id)
                              .order_by(ConsentRecord.at, ConsentRecord.id)).all()
    return {"person_id": person_id, "consents": current, "history": history}


def has_granted(session, person_id, purpose) -> bool:
    consent = session.get(Consent, (person_id, purpose))
    return consent is not None and consent.status == "granted"


# contacts (read model of identity persons)
def upsert_contact(session, data) -> None:
    """The whole unit of work is this upsert (an event handler): on a race it starts over."""
    for _ in range(2):
        contact = session.get(Contact, data["id"])
        if contact is None:
            contact = Contact(person_id=data["id"])
            session.add(contact)
        elif contact.erased_at is not None:
            return
        for field in ("first_name", "last_name", "email", "phone"):
            setattr(contact, field, data[field])
        try:
            session.flush()
            return
        except IntegrityError:  # another worker inserted it first: update that row
            session.rollback()


def get_contact(session, person_id) -> Contact:
    contact = session.get(Contact, person_id)
    if contact is None:
        raise ContactNotFound()
    return contact


def list_contacts(session, limit, cursor):
    stmt = select(Contact).where(Contact.erased_at.is_(None))
    return paginate(session, stmt, (Contact.person_id,), limit, cursor)


def update_profile(session, person_id, data) -> Contact:
    contact = get_contact(session, person_id)
    if contact.erased_at is not None:
        raise PersonErased()
    if any(data.get(field) for field in ("position", "company")) and not has_granted(session, person_id, "profiling"):
        raise ProfilingConsentRequired()
    for field, value in data.items():
        setattr(contact, field, value)
    session.flush()
    return contact


def _clear_profile(session, person_id) -> None:
    contact = session.get(Contact, person_id)
    if contact is not None:
        contact.position = contact.company = None


def _audience_stmt(channel):
    """Contacts reachable on `channel`: a granted consent for its purpose (a prohibition or
    withdrawal is never 'granted'), an address for it, not erased."""
    address = getattr(Contact, CHANNEL_ADDRESS[channel])
    return (select(Contact).join(Consent, Consent.person_id == Contact.person_id)
            .where(Consent.purpose == CHANNEL_PURPOSE[channel], Consent.status == "granted",
                   Contact.erased_at.is_(None), address.is_not(None)))


def audience(session, channel, limit, cursor):
    rows, next_cursor = paginate(session, _audience_stmt(channel), (Contact.person_id,), limit, cursor)
    return [{"person_id": row.person_id, "first_name": row.first_name, "last_name": row.last_name,
             "address": getattr(row, CHANNEL_ADDRESS[channel])} for row in rows], next_cursor


def overview(session) -> dict:
    """Current consents counted per purpose and status, and the audience size per channel."""
    consents = {purpose: dict.fromkeys(STATUSES, 0) for purpose in PURPOSES}
    for purpose, status, count in session.execute(select(Consent.purpose, Consent.status, func.count())
                                                  .group_by(Consent.purpose, Consent.status)):
        consents[purpose][status] = count
    audiences = {channel: session.scalar(select(func.count()).select_from(_audience_stmt(channel).subquery()))
                 for channel in CHANNEL_PURPOSE}
    return {"consents": consents, "audience": audiences}


# events and attendance
def create_event(session, data) -> MarketingEvent:
    event = MarketingEvent(**data)
    session.add(event)
    session.flush()
    return event


def get_event(session, event_id) -> MarketingEvent:
    event = session.get(MarketingEvent, event_id)
    if event is None:
        raise EventNotFound()
    return event


def list_events(session, limit, cursor):
    return paginate(session, select(MarketingEvent), (MarketingEvent.starts_at, MarketingEvent.id), limit, cursor)


def add_attendee(session, event_id, data) -> Attendance:
    get_event(session, event_id)
    contact = session.get(Contact, data["person_id"])
    if contact is not None and contact.erased_at is not None:
        raise PersonErased()
    attendance = session.scalars(select(Attendance).where(Attendance.event_id == event_id,
                                                          Attendance.person_id == data["person_id"])).first()
    if attendance is None:
        attendance = Attendance(event_id=event_id, person_id=data["person_id"])
        session.add(attendance)
    attendance.status = data["status"]
    session.flush()
    return attendance


def list_attendees(session, event_id, limit, cursor):
    get_event(session, event_id)
    stmt = select(Attendance).where(Attendance.event_id == event_id)
    return paginate(session, stmt, (Attendance.created_at, Attendance.id), limit, cursor)


# personal-data lifecycle
def export_person(session, person_id) -> dict:
    contact = session.get(Contact, person_id)
    attendances = session.scalars(select(Attendance).where(Attendance.person_id == person_id)
                                  .order_by(Attendance.created_at)).all()
    return {"contact": contact, "attendance": attendances, **consents_of(session, person_id)}


def erase_person(session, person_id) -> dict:
    """Anonymise the contact, drop attendance, withdraw every granted consent (the person is
    never contacted again; each withdrawal is broadcast); the consent history stays as proof.
    Idempotent. Returns the report."""
    for _ in range(2):
        contact = session.get(Contact, person_id)
        if contact is None:
            contact = Contact(person_id=person_id)
            session.add(contact)
        if contact.erased_at is None:
            for field in ("first_name", "last_name", "email", "phone", "position", "company"):
                setattr(contact, field, None)
            contact.erased_at = utcnow()
        session.execute(delete(Attendance).where(Attendance.person_id == person_id))
        try:
            session.flush()
            break
        except IntegrityError:  # two erasures raced to insert it: start over on the other's row
            session.rollback()
    granted = session.scalars(select(Consent.purpose).where(Consent.person_id == person_id,
                                                            Consent.status == "granted")).all()
    for purpose in granted:
        set_consent(session, person_id, purpose, {"status": "withdrawn", "source": ERASURE_SOURCE},
                    {"account_id": None, "role": "system"}, by_person=False)
    from services.marketing import retention  # the schedule anonymises through this function
    report = {"anonymised": ["marketing contact (name, email, phone)", "profiling attributes (position, company)",
                             "event attendance"],
              "retained": retention.consent_history_retained(session, person_id),
              "erased_at": contact.erased_at.isoformat()}
    return report
