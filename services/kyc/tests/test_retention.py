"""KYC retention with an injected clock: 5 years after the customer relationship ended."""
import datetime as dt

import pytest

from shared import retention as schedule
from shared.crypto import FieldCipher

from services.kyc import handlers, retention
from services.kyc.models import KycCase, KycParty, RetentionLease
from services.kyc.tests.test_handlers import PDF, new_case

NOW = dt.datetime(2031, 6, 15, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def cipher():
    return FieldCipher.from_env()


def _case_ended(session, cipher, ended_on):
    case = new_case(session, cipher)
    handlers.add_party(session, cipher, case.id, {"kind": "pep", "first_name": "P", "last_name": "E"})
    handlers.store_file(session, cipher, case.id, PDF)
    retention.apply_relationship(session, {"party_id": case.customer_id, "ended_on": ended_on})
    session.commit()  # as the entrypoints' unit of work does
    return case


def _run(session, now=NOW):
    return schedule.run(session, "kyc", retention.RULES, RetentionLease, now=now)


def test_case_goes_5_years_and_a_day_after_the_relationship_ended_and_stays_a_day_less(session, cipher):
    five_years_ago = NOW.date().replace(year=NOW.year - 5)
    expired = _case_ended(session, cipher, five_years_ago - dt.timedelta(days=1))
    kept = _case_ended(session, cipher, five_years_ago)
    ongoing = new_case(session, cipher)
    session.commit()
    file_of_expired = handlers.files_dir() / expired.file_name

    assert schedule.plan(session, "kyc", retention.RULES, NOW) == {"cases": 1}
    assert session.get(KycCase, expired.id) is not None  # the dry run removed nothing

    assert _run(session) == {"ran": True, "removed": {"cases": 1}}
    session.expire_all()
    assert session.get(KycCase, expired.id) is None and not file_of_expired.exists()
    assert session.query(KycParty).filter_by(case_id=expired.id).count() == 0
    assert session.get(KycCase, kept.id) is not None and session.get(KycCase, ongoing.id) is not None
    assert handlers.erase_person(session, kept.customer_id)["retained"][0]["until"] == NOW.date().isoformat()
    assert _run(session) == {"ran": True, "removed": {"cases": 0}}  # idempotent


def test_a_relationship_that_resumes_clears_the_until_date(session, cipher):
    case = _case_ended(session, cipher, dt.date(2020, 1, 31))
    assert handlers.erase_person(session, case.customer_id)["retained"][0]["until"] == "2025-01-31"
    retention.apply_relationship(session, {"party_id": case.customer_id, "ended_on": None})
    assert handlers.erase_person(session, case.customer_id)["retained"][0]["until"] is None
    assert _run(session)["removed"] == {"cases": 0}
