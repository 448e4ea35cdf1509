import uuid

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import func, select

from shared.db import collected_events
from shared.errors import ValidationFailed
from shared.messaging import CONSENT_CHANGED

from services.marketing import handlers
from services.marketing.exceptions import PersonErased, ProfilingConsentRequired, ProhibitionLocked
from services.marketing.models import ConsentRecord
from services.marketing.service import MarketingService

STAFF = {"account_id": str(uuid.uuid4()), "role": "staff"}
SELF = {"account_id": str(uuid.uuid4()), "role": "driver"}


def person(session, email="a@example.fi", phone="+358401234567"):
    person_id = str(uuid.uuid4())
    handlers.upsert_contact(session, {"id": person_id, "first_name": "Aino", "last_name": "Aalto", "email": email,
                                      "phone": phone})
    return person_id


def change(session, person_id, purpose, status, actor=STAFF, by_person=False, source="web form"):
    return handlers.set_consent(session, person_id, purpose, {"status": status, "source": source,
                                                              "channel": "web", "text_version": "v1"},
                                actor, by_person)


def audience_ids(session, channel):
    return {row["person_id"] for row in handlers.audience(session, channel, 200, None)[0]}


def test_history_is_append_only_with_proof(session):
    pid = person(session)
    change(session, pid, "email_marketing", "granted")
    change(session, pid, "email_marketing", "withdrawn", SELF, by_person=True, source="app")
    data = handlers.consents_of(session, pid)
    assert [(c.purpose, c.status) for c in data["consents"]] == [("email_marketing", "withdrawn")]
    assert [(r.status, r.source, r.actor_role, r.by_person, r.text_version) for r in data["history"]] == [
        ("granted", "web form", "staff", False, "v1"), ("withdrawn", "app", "driver", True, "v1")]
    assert data["history"][0].actor_account_id == STAFF["account_id"]


def test_prohibition_is_lifted_only_by_the_person(session):
    pid = person(session)
    change(session, pid, "sms_marketing", "prohibited", SELF, by_person=True)
    with pytest.raises(ProhibitionLocked):
        change(session, pid, "sms_marketing", "granted")
    with pytest.raises(ProhibitionLocked):
        change(session, pid, "sms_marketing", "withdrawn")
    assert session.scalar(select(func.count()).select_from(ConsentRecord)
                          .where(ConsentRecord.person_id == pid)) == 1
    assert change(session, pid, "sms_marketing", "granted", SELF, by_person=True).status == "granted"


def test_audience_needs_granted_consent_for_the_channel_and_an_address(session):
    granted, withdrawn, prohibited, other_channel = (person(session) for _ in range(4))
    no_phone = person(session, phone=None)
    for pid in (granted, withdrawn, prohibited, no_phone):
        change(session, pid, "sms_marketing", "granted")
    change(session, withdrawn, "sms_marketing", "withdrawn")
    change(session, prohibited, "sms_marketing", "prohibited")
    change(session, other_channel, "email_marketing", "granted")
    sms = audience_ids(session, "sms")
    assert granted in sms and not sms & {withdrawn, prohibited, other_channel, no_phone}
    assert other_channel in audience_ids(session, "email")


def test_profiling_attributes_follow_the_profiling_consent(session):
    pid = person(session)
    with pytest.raises(ProfilingConsentRequired):
        handlers.update_profile(session, pid, {"position": "CFO"})
    change(session, pid, "profiling", "granted")
    contact = handlers.update_profile(session, pid, {"position": "CFO", "company": "Oy Ab"})
    assert (contact.position, contact.company) == ("CFO", "Oy Ab")
    change(session, pid, "profiling", "withdrawn")
    assert (handlers.get_contact(session, pid).position, handlers.get_contact(session, pid).company) == (None, None)


def test_erasure_anonymises_keeps_proof_and_the_prohibition(session):
    pid = person(session)
    change(session, pid, "email_marketing", "granted")
    change(session, pid, "phone_marketing", "prohibited", SELF, by_person=True)
    event = handlers.create_event(session, {"name": "Launch", "starts_at": handlers.utcnow(), "place": None})
    handlers.add_attendee(session, event.id, {"person_id": pid, "status": "attended"})
    before = len(collected_events(session))
    report = handlers.erase_person(session, pid)
    withdrawn = [payload for _, payload in collected_events(session)[before:]]
    assert [(e["purpose"], e["status"], e["source"]) for e in withdrawn] == [("email_marketing", "withdrawn",
                                                                             "erasure")]
    assert report["retained"][0]["legal_basis"] and report["anonymised"]
    contact = handlers.get_contact(session, pid)
    assert (contact.first_name, contact.email, contact.phone) == (None, None, None)
    assert pid not in audience_ids(session, "email")
    statuses = {c.purpose: c.status for c in handlers.consents_of(session, pid)["consents"]}
    assert statuses == {"email_marketing": "withdrawn", "phone_marketing": "prohibited"}
    assert handlers.list_attendees(session, event.id, 10, None)[0] == []
    with pytest.raises(PersonErased):
        change(session, pid, "email_marketing", "granted")
    handlers.upsert_contact(session, {"id": pid, "first_name": "Back", "last_name": "Again", "email": "x@y.fi",
                                      "phone": None})
    assert handlers.get_contact(session, pid).email is None
    before = len(collected_events(session))
    assert handlers.erase_person(session, pid) == report and collected_events(session)[before:] == []


def test_service_publishes_every_change_and_validates(session):
    service = worker_factory(MarketingService, db=session, actor=STAFF)
    pid = str(uuid.uuid4())
    consent = service.set_consent(pid, "location_tracking", {"status": "granted", "source": "app"})
    events = collected_events(session)
    assert events == [(CONSENT_CHANGED, {"person_id": pid, "purpose": "location_tracking", "status": "granted",
                                         "at": consent["at"], "source": "app"})]
    with pytest.raises(ValidationFailed) as err:
        service.set_consent(pid, "telepathy", {"status": "granted", "source": "app"})
    assert "purpose" in err.value.details
    with pytest.raises(ValidationFailed) as err:
        service.set_consent(pid, "profiling", {"status": "maybe", "extra": 1})
    assert set(err.value.details) == {"status", "source", "extra"}
    assert len(collected_events(session)) == 1


def test_erasure_withdraws_and_broadcasts_once(session):
    """Erasure's one trigger is the erase_person RPC; a repeated call changes nothing more."""
    service = worker_factory(MarketingService, db=session, actor=STAFF)
    pid = person(session)
    service.set_consent(pid, "location_tracking", {"status": "granted", "source": "app"})
    service.erase_person(pid)
    service.erase_person(pid)
    events = collected_events(session)
    assert [(e[1]["purpose"], e[1]["status"], e[1]["source"]) for e in events] == [
        ("location_tracking", "granted", "app"), ("location_tracking", "withdrawn", "erasure")]
    exported = service.export_person(pid)
    assert exported["role"] == "controller" and exported["contact"]["email"] is None
    assert [r["status"] for r in exported["consent_history"]] == ["granted", "withdrawn"]
