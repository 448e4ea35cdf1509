"""Marketing's part of the retention schedule: contacts nobody may market to, withdrawn
consents' proofs and event attendance go when their periods end; prohibitions stay."""
from sqlalchemy import delete, exists, select, tuple_

from shared.retention import Rule, find, keys_after

from services.marketing import handlers
from services.marketing.models import Attendance, Consent, ConsentRecord, Contact, MarketingEvent

SERVICE = "marketing"
PROOF_BASIS = "GDPR art. 7(1): the controller must be able to prove a consent (and its withdrawal)"
PROHIBITION_BASIS = "GDPR art. 21(3) objection to direct marketing: the prohibition is honoured for good"


def _expired_contacts(customers_among):
    """Contacts without a granted consent, untouched for the period, whom identity does not
    know as a customer (current, or former within its own period)."""
    def expired(session, cutoff, after, limit):
        found = []
        quiet = [Contact.erased_at.is_(None), Contact.updated_at < cutoff,
                 ~exists().where(Consent.person_id == Contact.person_id, Consent.status == "granted"),
                 ~exists().where(ConsentRecord.person_id == Contact.person_id, ConsentRecord.at >= cutoff),
                 ~exists().where(Attendance.person_id == Contact.person_id, Attendance.created_at >= cutoff)]
        while len(found) < limit:
            ids = session.scalars(keys_after(select(Contact.person_id).where(*quiet), Contact.person_id, after,
                                             limit)).all()
            if not ids:
                break
            customers = set(customers_among(list(ids)))
            found += [person_id for person_id in ids if person_id not in customers]
            after = ids[-1]
        return found[:limit]
    return expired


def _anonymise_contacts(session, keys, now):
    for person_id in keys:
        handlers.erase_person(session, person_id)


def _expired_proofs(session, cutoff, after, limit):
    stmt = select(Consent.record_id).where(Consent.status == "withdrawn", Consent.at < cutoff)
    return session.scalars(keys_after(stmt, Consent.record_id, after, limit)).all()


def _remove_proofs(session, keys, now):
    pairs = session.execute(select(Consent.person_id, Consent.purpose).where(Consent.record_id.in_(keys))).all()
    session.execute(delete(Consent).where(Consent.record_id.in_(keys)))
    session.execute(delete(ConsentRecord).where(tuple_(ConsentRecord.person_id, ConsentRecord.purpose).in_(pairs)))


def _expired_attendance(session, cutoff, after, limit):
    stmt = (select(Attendance.id).join(MarketingEvent, MarketingEvent.id == Attendance.event_id)
            .where(MarketingEvent.starts_at < cutoff))
    return session.scalars(keys_after(stmt, Attendance.id, after, limit)).all()


def _remove_attendance(session, keys, now):
    session.execute(delete(Attendance).where(Attendance.id.in_(keys)))


def rules(customers_among=None):
    """The marketing rules; `customers_among(person_ids)` asks identity who is a customer."""
    return [
        Rule("contacts_without_consent", "marketing contacts (name, email, phone, position, company) with no "
             "granted consent and no customer relationship", "1y",
             "last activity (change, consent record or event attendance)",
             "GDPR art. 6(1)(f) legitimate interest in direct marketing to prospects; art. 5(1)(e)", "anonymised",
             _expired_contacts(customers_among), _anonymise_contacts),
        Rule("consent_proofs", "history of a withdrawn consent (who, role, source, channel, text version, time)",
             "2y", "consent withdrawn", PROOF_BASIS, "deleted", _expired_proofs, _remove_proofs),
        Rule("event_attendance", "event and occasion attendance", "2y", "the event",
             "GDPR art. 6(1)(f) legitimate interest in customer events", "deleted", _expired_attendance,
             _remove_attendance),
        Rule("prohibitions", "direct-marketing prohibitions and their proof", "while in force",
             "the person lifts the prohibition", PROHIBITION_BASIS, "kept", enforced_by="not removed"),
    ]


RULES = rules()


def consent_history_retained(session, person_id) -> list[dict]:
    """The erasure report's items for the consent history, with their until-dates."""
    consents = session.scalars(select(Consent).where(Consent.person_id == person_id)).all()
    retained = []
    withdrawn = [c.at for c in consents if c.status == "withdrawn"]
    if withdrawn:
        retained.append({"data": "history of withdrawn consents (purpose, status, source, channel, text version, "
                                 "time, recording account)", "legal_basis": PROOF_BASIS,
                         "until": find(RULES, "consent_proofs").until(SERVICE, max(withdrawn)), "held_for": None})
    if any(c.status == "prohibited" for c in consents):
        retained.append({"data": "direct-marketing prohibitions and their history", "legal_basis": PROHIBITION_BASIS,
                         "until": None, "held_for": None})
    return retained
