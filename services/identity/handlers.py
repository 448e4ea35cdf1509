"""Identity use cases: plain functions over a Session; each commits its own unit of work."""
import datetime as dt

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shared import tokens
from shared.crypto import FieldCipher, blind_index
from shared.db import paginate, utcnow
from shared.errors import ValidationFailed
from shared.validators import mask_national_id

from services.identity import exceptions as exc
from services.identity.models import Account, Organisation, Person

MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
_hasher = PasswordHasher()  # argon2id
_DUMMY_HASH = _hasher.hash("timing-equaliser-not-a-password")


# --- organisations ------------------------------------------------------------------

def create_organisation(session, data) -> Organisation:
    if data.get("parent_id"):
        get_organisation(session, data["parent_id"])
    organisation = Organisation(**data)
    session.add(organisation)
    _commit(session, exc.DuplicateBusinessId)
    return organisation


def get_organisation(session, organisation_id) -> Organisation:
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise exc.OrganisationNotFound()
    return organisation


def list_organisations(session, filters, limit, cursor, organisation_ids=None):
    stmt = select(Organisation)
    for field in ("parent_id", "business_id"):
        if filters.get(field):
            stmt = stmt.where(getattr(Organisation, field) == filters[field])
    if filters.get("name"):
        stmt = stmt.where(Organisation.name.ilike(f"%{filters['name']}%"))
    if organisation_ids is not None:
        stmt = stmt.where(Organisation.id.in_(organisation_ids))
    return paginate(session, stmt, (Organisation.created_at, Organisation.id), limit, cursor)


def group_of(session, organisation_id) -> list[str]:
    """Every organisation in the corporate group (konserni) of `organisation_id`."""
    root = get_organisation(session, organisation_id)
    seen = {root.id}
    while root.parent_id and root.parent_id not in seen:
        root = session.get(Organisation, root.parent_id)
        seen.add(root.id)
    members, frontier = {root.id}, [root.id]
    while frontier:
        children = session.scalars(select(Organisation.id).where(Organisation.parent_id.in_(frontier))).all()
        frontier = [child for child in children if child not in members]
        members.update(frontier)
    return sorted(members)


# --- persons ------------------------------------------------------------------------

def create_person(session, cipher: FieldCipher, data) -> Person:
    national_id = data.pop("national_id", None)
    person = Person(**data)
    if national_id:
        person.national_id_encrypted = cipher.encrypt(national_id)
        person.national_id_index = blind_index(national_id)
        person.national_id_masked = mask_national_id(national_id)
    session.add(person)
    _commit(session, exc.DuplicateNationalId)
    return person


def get_person(session, person_id) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise exc.PersonNotFound()
    return person


def list_persons(session, filters, limit, cursor):
    stmt = select(Person)
    if filters.get("national_id"):
        stmt = stmt.where(Person.national_id_index == blind_index(filters["national_id"]))
    for field in ("email", "phone", "last_name"):
        if filters.get(field):
            stmt = stmt.where(getattr(Person, field) == filters[field])
    return paginate(session, stmt, (Person.created_at, Person.id), limit, cursor)


# --- accounts and tokens ------------------------------------------------------------

def create_account(session, data) -> Account:
    _check_account_links(session, data)
    account = Account(
        username=data["username"], password_hash=_hasher.hash(data["password"]), role=data["role"],
        person_id=data.get("person_id"), organisation_id=data.get("organisation_id"),
        scope=data.get("scope") or ("company" if data["role"] == "fleet_manager" else None),
    )
    session.add(account)
    _commit(session, exc.DuplicateUsername)
    return account


def _check_account_links(session, data):
    errors = {}
    if data["password"].lower() == data["username"].lower():
        errors["password"] = ["Password must not be the username."]
    if data["role"] == "fleet_manager" and not data.get("organisation_id"):
        errors["organisation_id"] = ["A fleet manager belongs to an organisation."]
    if data["role"] == "driver" and not data.get("person_id"):
        errors["person_id"] = ["A driver account is linked to its person."]
    if errors:
        raise ValidationFailed("Invalid account", errors)
    if data.get("person_id"):
        get_person(session, data["person_id"])
    if data.get("organisation_id"):
        get_organisation(session, data["organisation_id"])


def issue_token(session, username, password) -> dict:
    """Same work whether or not the username exists, so timing reveals nothing."""
    account = session.scalars(select(Account).where(Account.username == username)).first()
    now = utcnow()
    if account is not None and account.locked_until and account.locked_until > now:
        _verify(_DUMMY_HASH, password)
        raise exc.AccountLocked(details={"retry_after": _seconds_until(account.locked_until, now)})
    if not _verify(account.password_hash if account else _DUMMY_HASH, password) or not account or not account.active:
        if account is not None:
            _record_failure(session, account, now)
        raise exc.InvalidCredentials()
    account.failed_logins = 0
    account.locked_until = None
    session.commit()
    token, ttl = tokens.issue(account.id, account.role, account.token_version)
    return {"access_token": token, "token_type": "bearer", "expires_in": ttl}


def _verify(password_hash, password) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except VerificationError:
        return False


def _record_failure(session, account, now):
    account.failed_logins += 1
    if account.failed_logins >= MAX_FAILED_LOGINS:
        account.locked_until = now + LOCKOUT
        account.failed_logins = 0
    session.commit()


def _seconds_until(moment, now) -> int:
    return max(1, int((moment - now).total_seconds()) + 1)


def get_principal(session, account_id, token_version) -> dict:
    """The caller behind a verified token, or Unauthorized if the account is gone,
    inactive or the token predates a password change / deactivation."""
    account = session.get(Account, account_id)
    if account is None or not account.active or account.token_version != token_version:
        raise exc.InvalidCredentials("Token is no longer valid")
    organisation_ids = []
    if account.organisation_id:
        organisation_ids = (group_of(session, account.organisation_id) if account.scope == "group"
                            else [account.organisation_id])
    return {"account_id": account.id, "role": account.role, "person_id": account.person_id,
            "organisation_id": account.organisation_id, "scope": account.scope,
            "organisation_ids": organisation_ids}


def ensure_admin(session, username, password) -> bool:
    """Create the bootstrap staff account unless that username exists. True if created."""
    if session.scalars(select(Account.id).where(Account.username == username)).first():
        return False
    session.add(Account(username=username, password_hash=_hasher.hash(password), role="staff"))
    try:
        session.commit()
    except IntegrityError:  # another identity process won the race
        session.rollback()
        return False
    return True


def _commit(session, conflict_error):
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise conflict_error() from None
