"""Identity retention with an injected clock: prospects and former customers are anonymised
2 years after last contact / the end of the relationship; audit 2 years, web usage 90 days."""
import datetime as dt

import pytest

from shared import retention as schedule
from shared.crypto import FieldCipher
from shared.db import STAFF_SCOPE, utcnow
from shared.errors import ServiceUnavailable

from services.identity import retention
from services.identity.handlers import persons, relationships
from services.identity.models import AccessAudit, CustomerRelationship, Person, RetentionLease, WebUsage
from services.identity.tests.test_handlers import make_person

UTC = dt.timezone.utc


@pytest.fixture
def cipher():
    return FieldCipher.from_env()


def _run(session, now):
    return schedule.run(session, "identity", retention.RULES, RetentionLease, now=now)["removed"]


def _relationship(session, person, status, ended_on=None):
    session.add(CustomerRelationship(party_type="person", party_id=person.id, customer_type="private",
                                     status=status, ended_on=ended_on))
    session.commit()


def test_prospects_and_former_customers_are_anonymised_when_their_period_ends(session, cipher):
    prospect = make_person(session, cipher, national_id=None, email="p@example.fi")
    former = make_person(session, cipher, national_id=None, email="f@example.fi")
    customer = make_person(session, cipher, national_id=None, email="c@example.fi")
    _relationship(session, prospect, "prospect")
    _relationship(session, former, "former", ended_on=utcnow().date() + dt.timedelta(days=400))
    _relationship(session, customer, "customer")
    two_years = utcnow() + dt.timedelta(days=2 * 365 + 2)

    assert _run(session, two_years)["prospects"] == 1
    assert persons.get_person(session, prospect.id, STAFF_SCOPE).email is None
    # the former customer's relationship ended 400 days later
    assert persons.get_person(session, former.id, STAFF_SCOPE).email == "f@example.fi"
    assert _run(session, two_years + dt.timedelta(days=400))["former_customers"] == 1
    session.expire_all()
    assert session.get(Person, former.id).erased_at is not None
    assert session.get(Person, customer.id).email == "c@example.fi"
    assert retention.customers_among(session, [prospect.id, former.id, customer.id]) == [customer.id]


def test_the_schedule_erases_in_every_other_service_first_and_retries_what_they_did_not_confirm(session, cipher):
    """One erasure trigger: the other services' erase_person RPC (the staff erasure's), called
    before identity anonymises; a service that does not answer fails the batch, nothing of it
    is kept, so the next run finds the person again (every erase_person is idempotent)."""
    prospect = make_person(session, cipher, national_id=None, email="p@example.fi")
    _relationship(session, prospect, "prospect")
    later = utcnow() + dt.timedelta(days=2 * 365 + 2)

    def kyc_down(person_ids):
        raise ServiceUnavailable("The kyc service did not answer", {"service": "kyc"})
    with pytest.raises(ServiceUnavailable):
        schedule.run(session, "identity", retention.rules(kyc_down), RetentionLease, now=later)
    session.expire_all()
    assert session.get(Person, prospect.id).erased_at is None

    erased_elsewhere = []
    removed = schedule.run(session, "identity", retention.rules(erased_elsewhere.extend), RetentionLease, now=later)
    assert removed["removed"]["prospects"] == 1 and erased_elsewhere == [prospect.id]
    session.expire_all()
    assert session.get(Person, prospect.id).erased_at is not None


def test_access_audit_2_years_and_web_usage_90_days(session):
    now = utcnow()
    for age in (1, 89, 91, 400):
        session.add(WebUsage(method="GET", path="/x", status=200, at=now - dt.timedelta(days=age)))
    for age in (700, 800):
        session.add(AccessAudit(person_id="p", what="get_person", at=now - dt.timedelta(days=age)))
    session.commit()
    removed = _run(session, now)
    assert (removed["web_usage"], removed["access_audit"]) == (2, 1)
    assert session.query(WebUsage).count() == 2 and session.query(AccessAudit).count() == 1


def test_the_relationship_event_ends_only_when_every_relationship_has(session, cipher):
    person = make_person(session, cipher, national_id=None)
    _relationship(session, person, "former", ended_on=dt.date(2024, 5, 1))
    assert relationships.relationship_changed(session, person.id)["ended_on"] == "2024-05-01"
    _relationship(session, person, "customer")
    assert relationships.relationship_changed(session, person.id)["ended_on"] is None


def test_service_history_and_a_private_relationship_go_6_years_after_the_year_it_ended(session, cipher):
    person = make_person(session, cipher, national_id=None)
    _relationship(session, person, "former", ended_on=dt.date(2024, 5, 1))
    relationship = session.query(CustomerRelationship).filter_by(party_id=person.id).one()
    relationships.add_service_order(session, relationship.id, {"what": "tyres", "ordered_at": utcnow()})
    assert _run(session, dt.datetime(2030, 12, 31, 23, 0, tzinfo=UTC))["customer_history"] == 0
    assert _run(session, dt.datetime(2031, 1, 1, tzinfo=UTC))["customer_history"] == 1
    assert session.query(CustomerRelationship).filter_by(party_id=person.id).count() == 0
