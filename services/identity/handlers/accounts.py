"""Accounts, passwords (argon2), tokens and the login lockout."""
import datetime as dt
import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool
from eventlet.semaphore import Semaphore
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from shared import tokens
from shared.db import STAFF_SCOPE, in_scope, insert_or_update, keep_on, paginate, utcnow, visible
from shared.errors import ValidationFailed

from services.identity import exceptions as exc
from services.identity.handlers.common import flush_or
from services.identity.handlers.organisations import get_organisation, group_of
from services.identity.handlers.persons import get_person
from services.identity.models import Account, LoginFailure

MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
_hasher = PasswordHasher()  # argon2id
_DUMMY_HASH = _hasher.hash("timing-equaliser-not-a-password")
# argon2 is ~50 ms of CPU: it runs in a real thread (argon2-cffi releases the GIL) so the other
# requests of the process go on meanwhile, at most one hash per CPU at a time
_hashing = Semaphore(os.cpu_count() or 1)


def create_account(session, data) -> Account:
    _check_account_links(session, data)
    account = Account(
        username=data["username"], password_hash=_hash(data["password"]), role=data["role"],
        person_id=data.get("person_id"), organisation_id=data.get("organisation_id"),
        scope=data.get("scope") or ("company" if data["role"] == "fleet_manager" else None),
    )
    session.add(account)
    flush_or(session, exc.DuplicateUsername)
    return account


def _check_account_links(session, data):
    errors = {}
    if data["password"].lower() == data["username"].lower():
        errors["password"] = ["Password must not be the username."]
    if data["role"] == "fleet_manager" and not data.get("organisation_id"):
        errors["organisation_id"] = ["A fleet manager belongs to an organisation."]
    if data["role"] == "driver" and not data.get("person_id"):
        errors["person_id"] = ["A driver account is linked to its person."]
    if data.get("scope") and data["role"] != "fleet_manager":
        errors["scope"] = ["Only a fleet manager account has a scope."]
    if errors:
        raise ValidationFailed("Invalid account", errors)
    if data.get("person_id"):
        get_person(session, data["person_id"], STAFF_SCOPE)
    if data.get("organisation_id"):
        get_organisation(session, data["organisation_id"], STAFF_SCOPE)


def get_account(session, account_id, organisation_ids) -> Account:
    account = session.get(Account, account_id)
    if account is None or not visible(account.organisation_id, organisation_ids):
        raise exc.AccountNotFound()
    return account


def list_accounts(session, filters, limit, cursor, organisation_ids):
    stmt = select(Account).filter_by(**filters).where(in_scope(Account.organisation_id, organisation_ids))
    return paginate(session, stmt, (Account.created_at, Account.id), limit, cursor)


def update_account(session, account_id, data, actor) -> Account:
    """actor: {account_id, role} of the caller (the gateway checked its scope)."""
    account = get_account(session, account_id, STAFF_SCOPE)
    if "scope" in data and account.role != "fleet_manager":
        raise ValidationFailed("Invalid account", {"scope": ["Only a fleet manager account has a scope."]})
    if data.get("active") is False and account.active:
        if account.id == actor.get("account_id"):
            raise exc.CannotDeactivateSelf()
        keep_a_staff_account(session, [account])
        account.token_version += 1  # its tokens stop working at once
        account.deactivated_by = actor.get("account_id")
    if data.get("active") is True and not account.active:
        if actor.get("role") != "staff" and account.deactivated_by != actor.get("account_id"):
            raise exc.ReactivationNotAllowed()
        account.deactivated_by = None
    if "password" in data:
        _reset_password(account, data.pop("password"))
    for field, value in data.items():
        setattr(account, field, value)
    session.flush()
    return account


def keep_a_staff_account(session, leaving) -> None:
    """Nobody locks the company out: some active staff account stays."""
    leaving_ids = [account.id for account in leaving if account.role == "staff" and account.active]
    if leaving_ids and not session.scalars(select(Account.id).where(
            Account.role == "staff", Account.active.is_(True), Account.id.not_in(leaving_ids))).first():
        raise exc.LastStaffAccount()


def _reset_password(account, password):
    if password.lower() == account.username.lower():
        raise ValidationFailed("Invalid password", {"password": ["Password must not be the username."]})
    account.password_hash = _hash(password)
    account.token_version += 1


def change_password(session, account_id, current_password, new_password, client) -> None:
    """A wrong current password counts as a failed login of (username, client)."""
    account = get_account(session, account_id, STAFF_SCOPE)
    now = utcnow()
    _refuse_if_locked(session, account.username, client, now)
    if not _verify(account.password_hash, current_password):
        _record_failure(session, account.username, client, now, ValidationFailed)
        raise ValidationFailed("Invalid password", {"current_password": ["Current password is wrong."]})
    if new_password.lower() == account.username.lower():
        raise ValidationFailed("Invalid password", {"new_password": ["Password must not be the username."]})
    account.password_hash = _hash(new_password)
    account.token_version += 1
    _clear_failures(session, account.username, client)


def issue_token(session, username, password, client) -> dict:
    """One answer, after the same work (one argon2 verification), for an unknown username, a
    wrong password and an inactive account; the lockout is per (username, client) whether or
    not the username exists, so it reveals nothing either and cannot be used from elsewhere."""
    account = session.scalars(select(Account).where(Account.username == username)).first()
    now = utcnow()
    verified = _verify(account.password_hash if account else None, password)
    _refuse_if_locked(session, username, client, now)
    if not (verified and account.active):
        _record_failure(session, username, client, now, exc.InvalidCredentials)
        raise exc.InvalidCredentials()
    _clear_failures(session, username, client)
    token, ttl = tokens.issue(account.id, account.role, account.token_version)
    return {"access_token": token, "token_type": "bearer", "expires_in": ttl}


def _hash(password) -> str:
    with _hashing:
        return tpool.execute(_hasher.hash, password)


def _verify(password_hash, password) -> bool:
    """An account without a password (erased) verifies against a dummy hash: same work, False."""
    with _hashing:
        try:
            return tpool.execute(_hasher.verify, password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False


def _refuse_if_locked(session, username, client, now) -> None:
    locked_until = session.scalars(select(LoginFailure.locked_until).where(
        LoginFailure.username == username, LoginFailure.client == client)).first()
    if locked_until and locked_until > now:
        raise exc.AccountLocked(details={"retry_after": _seconds_until(locked_until, now)})


def _record_failure(session, username, client, now, refusal=Exception) -> None:
    """Atomic in SQL (several identity processes): count, and lock at MAX_FAILED_LOGINS.
    The count stands although the use case then refuses with `refusal` (shared.db.keep_on)."""
    insert = insert_or_update(session, LoginFailure.__table__).values(
        username=username, client=client, failures=1, updated_at=now)
    session.execute(insert.on_conflict_do_update(
        index_elements=["username", "client"],
        set_={"failures": LoginFailure.__table__.c.failures + 1, "updated_at": now}))
    session.execute(update(LoginFailure).where(
        LoginFailure.username == username, LoginFailure.client == client,
        LoginFailure.failures >= MAX_FAILED_LOGINS).values(failures=0, locked_until=now + LOCKOUT))
    keep_on(session, refusal)


def _clear_failures(session, username, client) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.username == username, LoginFailure.client == client))


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
    """Add the bootstrap staff account unless that username exists (the caller commits).
    True if added."""
    if session.scalars(select(Account.id).where(Account.username == username)).first():
        return False
    session.add(Account(username=username, password_hash=_hash(password), role="staff"))
    try:
        session.flush()
    except IntegrityError:  # another identity process won the race
        session.rollback()
        return False
    return True
