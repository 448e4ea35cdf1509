import pytest
from sqlalchemy import text

from shared import config
from shared.crypto import FieldCipher, new_key
from shared.db import STAFF_SCOPE, collected_events, utcnow
from shared.errors import ValidationFailed
from shared.messaging import PERSON_ERASED

from services.identity import exceptions as exc
from services.identity.handlers import accounts, erasure, organisations, persons, relationships, roles

HETU = "131052-308T"


@pytest.fixture
def cipher():
    return FieldCipher.from_env()


def make_person(session, cipher, **overrides):
    data = {"first_name": "Matti", "last_name": "Meikäläinen", "national_id": HETU, **overrides}
    return persons.create_person(session, cipher, data)


def test_national_id_is_stored_encrypted_masked_and_searchable_by_blind_index(session, cipher):
    person = make_person(session, cipher)
    raw = session.execute(text("SELECT * FROM persons")).mappings().one()
    assert HETU not in str(dict(raw))
    assert person.national_id_masked == "131052-****"
    assert cipher.decrypt(person.national_id_encrypted) == HETU
    assert [row.id for row in persons.find_by_national_id(session, HETU)] == [person.id]


def test_duplicate_national_id_conflicts(session, cipher):
    make_person(session, cipher)
    with pytest.raises(exc.DuplicateNationalId):
        make_person(session, cipher, first_name="Other")


def test_group_of_contains_parent_and_every_descendant(session):
    parent = organisations.create_organisation(session, {"name": "Parent", "business_id": "0737546-2"})
    child = organisations.create_organisation(session, {"name": "Child", "business_id": "1572860-0",
                                                   "parent_id": parent.id})
    other = organisations.create_organisation(session, {"name": "Other", "business_id": "2331972-7"})
    assert organisations.group_of(session, child.id) == sorted([parent.id, child.id])
    assert other.id not in organisations.group_of(session, parent.id)


def test_unknown_parent_organisation_is_not_found(session):
    with pytest.raises(exc.OrganisationNotFound):
        organisations.create_organisation(session, {"name": "X", "business_id": "0737546-2", "parent_id": "nope"})


def account(session, **overrides):
    data = {"username": "anna", "password": "correct horse battery", "role": "staff", **overrides}
    return accounts.create_account(session, data)


CLIENT = "192.0.2.1"
STAFF_ACTOR = {"account_id": "someone-else", "role": "staff"}


def test_login_issues_a_token_and_principal(session):
    created = account(session)
    token = accounts.issue_token(session, "anna", "correct horse battery", CLIENT)
    assert token["token_type"] == "bearer" and token["expires_in"] > 0
    assert accounts.get_principal(session, created.id, created.token_version)["role"] == "staff"


def test_wrong_password_and_unknown_user_fail_alike(session):
    account(session)
    for username in ("anna", "nobody"):
        with pytest.raises(exc.InvalidCredentials):
            accounts.issue_token(session, username, "wrong password!", CLIENT)


def test_five_failures_lock_that_username_for_that_client_only(session):
    account(session)
    for username in ("anna", "nobody"):  # an unknown username locks alike: nothing to learn
        for _ in range(accounts.MAX_FAILED_LOGINS):
            with pytest.raises(exc.InvalidCredentials):
                accounts.issue_token(session, username, "wrong password!", CLIENT)
        with pytest.raises(exc.AccountLocked) as err:
            accounts.issue_token(session, username, "correct horse battery", CLIENT)
        assert err.value.details["retry_after"] > 0
    assert accounts.issue_token(session, "anna", "correct horse battery", "198.51.100.7")["access_token"]


def test_failures_are_counted_by_one_sql_update(session):
    """Two replicas counting at once each add one: the count lives in SQL, not in a loaded row."""
    account(session)
    accounts._record_failure(session, "anna", CLIENT, utcnow())
    other = accounts.LoginFailure.__table__
    session.execute(other.update().values(failures=other.c.failures + 2))  # another replica meanwhile
    accounts._record_failure(session, "anna", CLIENT, utcnow())
    assert session.scalars(text("SELECT failures FROM login_failures")).one() == 4


def test_wrong_current_passwords_count_as_failed_logins(session):
    created = account(session)
    for _ in range(accounts.MAX_FAILED_LOGINS):
        with pytest.raises(ValidationFailed):
            accounts.change_password(session, created.id, "wrong password!", "an even better passphrase", CLIENT)
    with pytest.raises(exc.AccountLocked):
        accounts.change_password(session, created.id, "correct horse battery", "an even better passphrase", CLIENT)
    with pytest.raises(exc.AccountLocked):
        accounts.issue_token(session, "anna", "correct horse battery", CLIENT)


def test_nobody_locks_the_company_out(session):
    only = account(session)
    with pytest.raises(exc.CannotDeactivateSelf):
        accounts.update_account(session, only.id, {"active": False}, {"account_id": only.id, "role": "staff"})
    with pytest.raises(exc.LastStaffAccount):
        accounts.update_account(session, only.id, {"active": False}, STAFF_ACTOR)
    other = account(session, username="bertta")
    accounts.update_account(session, only.id, {"active": False}, {"account_id": other.id, "role": "staff"})
    assert not only.active
    with pytest.raises(ValidationFailed) as err:
        accounts.update_account(session, other.id, {"scope": "group"}, STAFF_ACTOR)
    assert "scope" in err.value.details


def test_a_fleet_manager_reactivates_only_what_it_deactivated(session):
    company = org(session, "0737546-2")
    manager = account(session, username="manager", role="fleet_manager", organisation_id=company.id)
    colleague = account(session, username="colleague", role="fleet_manager", organisation_id=company.id)
    target = account(session, username="target", role="fleet_manager", organisation_id=company.id)
    as_manager = {"account_id": manager.id, "role": "fleet_manager"}
    accounts.update_account(session, target.id, {"active": False}, STAFF_ACTOR)
    with pytest.raises(exc.ReactivationNotAllowed):
        accounts.update_account(session, target.id, {"active": True}, as_manager)
    accounts.update_account(session, target.id, {"active": True}, STAFF_ACTOR)
    accounts.update_account(session, target.id, {"active": False}, {"account_id": colleague.id,
                                                                    "role": "fleet_manager"})
    with pytest.raises(exc.ReactivationNotAllowed):
        accounts.update_account(session, target.id, {"active": True}, as_manager)
    accounts.update_account(session, target.id, {"active": False}, as_manager)  # already inactive: no-op
    accounts.update_account(session, colleague.id, {"active": False}, as_manager)
    accounts.update_account(session, colleague.id, {"active": True}, as_manager)
    assert colleague.active and colleague.deactivated_by is None


def test_erasure_clears_the_password_hash_but_not_the_last_staff_account(session, cipher):
    person = make_person(session, cipher)
    driver = account(session, username="driver", role="driver", person_id=person.id)
    account(session, username="staff-one")
    erasure.erase_person(session, person.id)
    assert driver.password_hash == "" and not driver.active
    with pytest.raises(exc.InvalidCredentials):
        accounts.issue_token(session, driver.username, "correct horse battery", CLIENT)
    staff_person = make_person(session, cipher, national_id=None)
    accounts.update_account(session, account(session, username="own", person_id=staff_person.id).id,
                            {"active": True}, STAFF_ACTOR)
    accounts.update_account(session, session.scalars(text("SELECT id FROM accounts WHERE username='staff-one'"))
                            .one(), {"active": False}, STAFF_ACTOR)
    with pytest.raises(exc.LastStaffAccount):
        erasure.erase_person(session, staff_person.id)


def test_account_rules(session):
    with pytest.raises(ValidationFailed) as err:
        account(session, username="annaannaanna", password="annaannaanna", role="fleet_manager")
    assert set(err.value.details) == {"password", "organisation_id"}
    account(session)
    with pytest.raises(exc.DuplicateUsername):
        account(session)


def org(session, business_id, parent=None):
    return organisations.create_organisation(session, {"name": business_id, "business_id": business_id,
                                                  "parent_id": parent.id if parent else None})


def test_a_parent_that_would_close_a_cycle_conflicts(session):
    top = org(session, "0737546-2")
    middle = org(session, "1572860-0", top)
    bottom = org(session, "2331972-7", middle)
    for parent in (bottom, middle, top):
        with pytest.raises(exc.GroupCycle):
            organisations.update_organisation(session, top.id, {"parent_id": parent.id})
    organisations.update_organisation(session, bottom.id, {"parent_id": top.id})


def test_relationship_moves_prospect_customer_former_only(session):
    company = org(session, "0737546-2")
    relationship = relationships.create_customer(session, {"party_type": "organisation", "party_id": company.id,
                                                      "customer_type": "corporate", "status": "prospect"})
    with pytest.raises(exc.IllegalTransition):
        relationships.update_customer(session, relationship.id, {"status": "former"})
    relationships.update_customer(session, relationship.id, {"status": "customer"})
    assert relationship.started_on is not None
    relationships.update_customer(session, relationship.id, {"status": "former"})
    assert relationship.ended_on is not None
    with pytest.raises(exc.IllegalTransition):
        relationships.update_customer(session, relationship.id, {"status": "customer"})


def test_persons_are_in_a_managers_scope_only_through_a_link(session, cipher):
    company, other = org(session, "0737546-2"), org(session, "1572860-0")
    linked, unlinked = make_person(session, cipher), make_person(session, cipher, national_id=None)
    roles.add_role(session, linked.id, {"kind": "contact", "organisation_id": company.id, "position": "CFO"})
    assert persons.get_person(session, linked.id, [company.id]) is linked
    for person, scope in ((linked, [other.id]), (unlinked, [company.id])):
        with pytest.raises(exc.PersonNotFound):
            persons.get_person(session, person.id, scope)
    rows, _ = persons.list_persons(session, {}, 10, None, [company.id])
    assert [row.id for row in rows] == [linked.id]


def test_deactivation_and_password_change_revoke_tokens(session):
    created = account(session)
    account(session, username="another-staff")
    version = created.token_version
    accounts.change_password(session, created.id, "correct horse battery", "an even better passphrase", CLIENT)
    with pytest.raises(exc.InvalidCredentials):
        accounts.get_principal(session, created.id, version)
    accounts.update_account(session, created.id, {"active": False}, STAFF_ACTOR)
    with pytest.raises(exc.InvalidCredentials):
        accounts.get_principal(session, created.id, created.token_version - 1)
    with pytest.raises(exc.InvalidCredentials):
        accounts.issue_token(session, "anna", "an even better passphrase", CLIENT)


def test_rotation_re_encrypts_with_the_newest_key(session):
    person = make_person(session, FieldCipher.from_env())
    newest = new_key()
    rotated = FieldCipher([newest] + config.data_keys())
    assert persons.rotate_national_ids(session, rotated) == 1
    assert FieldCipher([newest]).decrypt(person.national_id_encrypted) == HETU


def test_erasure_anonymises_once_and_reports_the_same_twice(session, cipher):
    person = make_person(session, cipher, email="m@example.fi", phone="+358401234567")
    first = erasure.erase_person(session, person.id)
    second = erasure.erase_person(session, person.id)
    assert first == second
    raw = session.execute(text("SELECT * FROM persons")).mappings().one()
    assert raw["first_name"] == "Erased" and raw["email"] is None and raw["national_id_encrypted"] is None
    assert raw["national_id_index"] is None
    # announced once, as SPEC §3 has it (no service erases on the event: each by its own RPC)
    announced = [payload for name, payload in collected_events(session) if name == PERSON_ERASED]
    assert announced == [{"person_id": person.id, "erased_at": first["erased_at"]}]
