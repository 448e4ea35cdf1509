import pytest
from sqlalchemy import text

from shared.crypto import FieldCipher
from shared.errors import ValidationFailed

from services.identity import exceptions as exc
from services.identity import handlers

HETU = "131052-308T"


@pytest.fixture
def cipher():
    return FieldCipher.from_env()


def make_person(session, cipher, **overrides):
    data = {"first_name": "Matti", "last_name": "Meikäläinen", "national_id": HETU, **overrides}
    return handlers.create_person(session, cipher, data)


def test_national_id_is_stored_encrypted_masked_and_searchable_by_blind_index(session, cipher):
    person = make_person(session, cipher)
    raw = session.execute(text("SELECT * FROM persons")).mappings().one()
    assert HETU not in str(dict(raw))
    assert person.national_id_masked == "131052-****"
    assert cipher.decrypt(person.national_id_encrypted) == HETU
    rows, _ = handlers.list_persons(session, {"national_id": HETU}, 10, None)
    assert [row.id for row in rows] == [person.id]


def test_duplicate_national_id_conflicts(session, cipher):
    make_person(session, cipher)
    with pytest.raises(exc.DuplicateNationalId):
        make_person(session, cipher, first_name="Other")


def test_group_of_contains_parent_and_every_descendant(session):
    parent = handlers.create_organisation(session, {"name": "Parent", "business_id": "0737546-2"})
    child = handlers.create_organisation(session, {"name": "Child", "business_id": "1572860-0",
                                                   "parent_id": parent.id})
    other = handlers.create_organisation(session, {"name": "Other", "business_id": "2331972-7"})
    assert handlers.group_of(session, child.id) == sorted([parent.id, child.id])
    assert other.id not in handlers.group_of(session, parent.id)


def test_unknown_parent_organisation_is_not_found(session):
    with pytest.raises(exc.OrganisationNotFound):
        handlers.create_organisation(session, {"name": "X", "business_id": "0737546-2", "parent_id": "nope"})


def account(session, **overrides):
    data = {"username": "anna", "password": "correct horse battery", "role": "staff", **overrides}
    return handlers.create_account(session, data)


def test_login_issues_a_token_and_principal(session):
    created = account(session)
    token = handlers.issue_token(session, "anna", "correct horse battery")
    assert token["token_type"] == "bearer" and token["expires_in"] > 0
    assert handlers.get_principal(session, created.id, created.token_version)["role"] == "staff"


def test_wrong_password_and_unknown_user_fail_alike(session):
    account(session)
    for username in ("anna", "nobody"):
        with pytest.raises(exc.InvalidCredentials):
            handlers.issue_token(session, username, "wrong password!")


def test_five_failures_lock_the_account(session):
    account(session)
    for _ in range(handlers.MAX_FAILED_LOGINS):
        with pytest.raises(exc.InvalidCredentials):
            handlers.issue_token(session, "anna", "wrong password!")
    with pytest.raises(exc.AccountLocked) as err:
        handlers.issue_token(session, "anna", "correct horse battery")
    assert err.value.details["retry_after"] > 0


def test_account_rules(session):
    with pytest.raises(ValidationFailed) as err:
        account(session, username="annaannaanna", password="annaannaanna", role="fleet_manager")
    assert set(err.value.details) == {"password", "organisation_id"}
    account(session)
    with pytest.raises(exc.DuplicateUsername):
        account(session)
