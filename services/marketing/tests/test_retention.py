"""Marketing retention with an injected clock: contacts without consent or customer relationship
1 year, withdrawn consents' proofs 2 years, prohibitions kept."""
import datetime as dt

from shared import retention as schedule
from shared.db import utcnow

from services.marketing import handlers, retention
from services.marketing.models import Consent, ConsentRecord, Contact, RetentionLease
from services.marketing.tests.test_consents import change, person


def _run(session, now, customers=()):
    rules = retention.rules(lambda ids: [i for i in ids if i in customers])
    return schedule.run(session, "marketing", rules, RetentionLease, now=now)["removed"]


def test_contacts_without_consent_go_after_a_year_unless_identity_knows_them_as_customers(session):
    quiet, customer, consenting = person(session), person(session), person(session)
    change(session, consenting, "email_marketing", "granted")
    a_year_on = utcnow() + dt.timedelta(days=367)
    assert _run(session, a_year_on, customers={customer})["contacts_without_consent"] == 1
    session.expire_all()
    assert session.get(Contact, quiet).email is None and session.get(Contact, quiet).erased_at is not None
    assert session.get(Contact, customer).email and session.get(Contact, consenting).email


def test_withdrawn_consent_proofs_go_2_years_after_the_withdrawal_prohibitions_stay(session):
    pid = person(session)
    change(session, pid, "email_marketing", "granted")
    change(session, pid, "email_marketing", "withdrawn")
    change(session, pid, "sms_marketing", "prohibited")
    report = handlers.erase_person(session, pid)
    until = {item["legal_basis"][:12]: item["until"] for item in report["retained"]}
    last_day = utcnow().date().replace(year=utcnow().year + 2)
    assert until == {"GDPR art. 7(": last_day.isoformat(), "GDPR art. 21": None}
    assert _run(session, dt.datetime.combine(last_day, dt.time(23, 59), dt.timezone.utc))["consent_proofs"] == 0
    day_after = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    assert _run(session, day_after)["consent_proofs"] == 1
    purposes = {c.purpose for c in session.query(Consent).filter_by(person_id=pid)}
    assert purposes == {"sms_marketing"}
    assert {r.purpose for r in session.query(ConsentRecord).filter_by(person_id=pid)} == {"sms_marketing"}
