import datetime as dt
import uuid

import pytest
from sqlalchemy import text

from shared.crypto import FieldCipher
from shared.errors import ValidationFailed
from shared.schemas import load

from services.kyc import exceptions as exc
from services.kyc import handlers, schemas
from services.kyc.models import KycCase

HETU = "131052-308T"
PDF = b"%PDF-1.7\n" + b"secret passport scan " * 100


@pytest.fixture
def cipher():
    return FieldCipher.from_env()


def new_case(session, cipher, **overrides):
    return handlers.create_case(session, cipher, load(schemas.CaseCreate(), {
        "customer_id": str(uuid.uuid4()), "national_id": HETU, "document_type": "passport",
        "document_number": "FP1234567", "document_country": "fi", "document_expires_on": "2030-01-01",
        **overrides}))


def test_identifying_data_is_encrypted_and_masked(session, cipher):
    case = new_case(session, cipher)
    raw = str(dict(session.execute(text("SELECT * FROM kyc_cases")).mappings().one()))
    assert HETU not in raw and "FP1234567" not in raw
    dumped = schemas.Case().dump(case)
    assert (dumped["national_id"], dumped["document_number"], dumped["document_country"]) == (
        "131052-****", "******567", "FI")


def test_state_machine_and_verification(session, cipher):
    case = new_case(session, cipher)
    with pytest.raises(exc.IllegalTransition):
        handlers.update_case(session, cipher, case.id, {"status": "expired"})
    handlers.update_case(session, cipher, case.id, {"status": "verified"}, actor_id="staff-1")
    assert (case.status, case.verified_by) == ("verified", "staff-1") and case.verified_at
    assert handlers.expire_cases(session, today=dt.date(2030, 1, 2)) == 1 and case.status == "expired"
    with pytest.raises(exc.IllegalTransition):
        handlers.update_case(session, cipher, case.id, {"status": "verified"})
    undocumented = handlers.create_case(session, cipher, {"customer_id": str(uuid.uuid4())})
    with pytest.raises(exc.NotVerifiable):
        handlers.update_case(session, cipher, undocumented.id, {"status": "verified"})
    expired = new_case(session, cipher, document_expires_on="2020-01-01")
    with pytest.raises(exc.NotVerifiable):
        handlers.update_case(session, cipher, expired.id, {"status": "verified"})


def test_files_are_sniffed_limited_and_stored_encrypted(session, cipher):
    case = new_case(session, cipher)
    handlers.store_file(session, cipher, case.id, PDF)
    stored = (handlers.files_dir() / case.file_name).read_bytes()
    assert b"secret passport scan" not in stored
    assert handlers.read_file(session, cipher, case.id) == ("application/pdf", PDF)
    with pytest.raises(exc.FileTypeNotAllowed):
        handlers.store_file(session, cipher, case.id, b"GIF89a....")
    with pytest.raises(exc.FileTooLarge):
        handlers.store_file(session, cipher, case.id, b"%PDF-" + b"0" * schemas.MAX_FILE_BYTES)
    assert handlers.sniff(b"\x89PNG\r\n\x1a\nxx") == "image/png"
    assert handlers.sniff(b"\xff\xd8\xff\xe0xx") == "image/jpeg"


def test_beneficial_owner_needs_more_than_25_percent_and_pep_a_position():
    base = {"first_name": "Omistaja", "last_name": "Oy"}
    with pytest.raises(ValidationFailed) as err:
        load(schemas.PartyCreate(), {**base, "kind": "beneficial_owner", "ownership_percent": "25"})
    assert "ownership_percent" in err.value.details
    with pytest.raises(ValidationFailed) as err:
        load(schemas.PartyCreate(), {**base, "kind": "pep"})
    assert "pep_position" in err.value.details
    assert load(schemas.PartyCreate(), {**base, "kind": "beneficial_owner", "ownership_percent": "25.01",
                                        "nationality": "SE"})["nationality"] == "SE"


def test_erasure_retains_everything_with_the_aml_basis(session, cipher):
    person = str(uuid.uuid4())
    case = new_case(session, cipher, customer_id=person)
    handlers.add_party(session, cipher, case.id, load(schemas.PartyCreate(), {
        "kind": "pep", "first_name": "P", "last_name": "E", "pep_position": "MP", "person_id": person}))
    report = handlers.erase_person(session, person)
    assert [r["until"] for r in report["retained"]] == [None, None]
    handlers.update_case(session, cipher, case.id, {"relationship_ended_on": dt.date(2026, 11, 1)})
    again = handlers.erase_person(session, person)
    assert [r["until"] for r in again["retained"]] == ["2031-11-01", "2031-11-01"]
    assert all("444/2017" in r["legal_basis"] for r in again["retained"]) and again["anonymised"] == []


def test_a_short_document_number_is_masked_entirely(session, cipher):
    assert schemas.Case().dump(new_case(session, cipher, document_number="AB123"))["document_number"] == "*****"
    assert schemas.Case().dump(new_case(session, cipher, document_number="FP1234567"))["document_number"] == \
        "******567"


def test_changing_identifying_data_of_a_verified_case_sends_it_back_to_pending(session, cipher):
    for change in ({"document_number": "FP7654321"}, {"national_id": "010101-123N"},
                   {"document_expires_on": "2031-01-01"}):
        case = new_case(session, cipher)
        handlers.update_case(session, cipher, case.id, {"status": "verified"}, actor_id="staff-1")
        handlers.update_case(session, cipher, case.id, {"notes": "checked"})
        assert case.status == "verified"
        handlers.update_case(session, cipher, case.id, load(schemas.CaseUpdate(), change, partial=True))
        assert (case.status, case.verified_by, case.verified_at) == ("pending", None, None), change
    handlers.update_case(session, cipher, case.id, {"status": "verified"}, actor_id="staff-1")
    handlers.store_file(session, cipher, case.id, PDF)
    assert case.status == "pending"


def test_key_rotation_covers_every_encrypted_field_and_file(session, monkeypatch):
    from shared import config
    from shared.crypto import blind_index, new_key

    old = FieldCipher.from_env()
    case = new_case(session, old)
    handlers.add_party(session, old, case.id, load(schemas.PartyCreate(), {
        "kind": "pep", "pep_position": "minister", "first_name": "P", "last_name": "E", "national_id": "010101-123N",
        "document_number": "XY9876543"}))
    handlers.store_file(session, old, case.id, PDF)
    newest = new_key()
    rotated = FieldCipher([newest] + config.data_keys())
    assert handlers.rotate_keys(session, rotated) == {"rows": 2, "files": 1}
    only_new = FieldCipher([newest])
    party = session.scalars(handlers.select(handlers.KycParty)).one()
    assert only_new.decrypt(case.national_id_encrypted) == HETU
    assert only_new.decrypt(case.document_number_encrypted) == "FP1234567"
    assert only_new.decrypt(party.national_id_encrypted) == "010101-123N"
    assert only_new.decrypt(party.document_number_encrypted) == "XY9876543"
    assert handlers.read_file(session, only_new, case.id) == ("application/pdf", PDF)
    # KYC's blind index is not identity's: the two cannot be joined
    assert case.national_id_index == blind_index(HETU, config.index_key("kyc")) != blind_index(HETU)


def test_the_case_state_machine_lives_on_the_model():
    """pending -> verified | rejected, verified -> expired; verifying needs a valid document."""
    today = dt.date(2026, 11, 25)
    case = KycCase(status="pending", document_type="passport", document_number_encrypted="x",
                   document_country="FI", document_expires_on=today + dt.timedelta(days=1))
    assert case.next_statuses == ["rejected", "verified"]
    case.move_to("verified", "staff-1", today)
    assert (case.status, case.verified_by, case.next_statuses) == ("verified", "staff-1", ["expired"])
    with pytest.raises(ValueError):
        case.move_to("pending")
    case.back_to_pending()
    case.document_expires_on = today - dt.timedelta(days=1)
    assert case.verification_problems(today) == {"missing": [], "expired": True}
    with pytest.raises(ValueError):
        case.move_to("verified", "staff-1", today)
    case.move_to("rejected")
    assert case.next_statuses == []
