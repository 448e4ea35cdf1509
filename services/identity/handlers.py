"""Identity use cases: plain functions over a Session; each commits its own unit of work."""
import datetime as dt
import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool
from eventlet.semaphore import Semaphore
from sqlalchemy import and_, delete, or_, select, union, update
from sqlalchemy.exc import IntegrityError

from shared import tokens
from shared.crypto import FieldCipher, blind_index
from shared.db import STAFF_SCOPE, in_scope, insert_or_update, is_staff, new_id, paginate, utcnow, visible
from shared.errors import ValidationFailed
from shared import validators
from shared.validators import mask_national_id

from services.identity import exceptions as exc
from services.identity.models import (AccessAudit, Account, CustomerRelationship, LoginFailure, Organisation, Person,
                                      PersonRole, SatisfactionResponse, ServiceOrder, WebUsage)

MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
ERASED_NAME = "Erased"
_hasher = PasswordHasher()  # argon2id
_DUMMY_HASH = _hasher.hash("timing-equaliser-not-a-password")
# argon2 is ~50 ms of CPU: it runs in a real thread (argon2-cffi releases the GIL) so the other
# requests of the process go on meanwhile, at most one hash per CPU at a time
_hashing = Semaphore(os.cpu_count() or 1)


# --- organisations ------------------------------------------------------------------

def create_organisation(session, data) -> Organisation:
    if data.get("parent_id"):
        get_organisation(session, data["parent_id"], STAFF_SCOPE)
    organisation = Organisation(**data)
    session.add(organisation)
    _commit(session, exc.DuplicateBusinessId)
    return organisation


def get_organisation(session, organisation_id, organisation_ids) -> Organisation:
    """organisation_ids: the caller's scope (shared.db: STAFF_SCOPE or organisation ids)."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None or not visible(organisation_id, organisation_ids):
        raise exc.OrganisationNotFound()
    return organisation


def update_organisation(session, organisation_id, data) -> Organisation:
    organisation = get_organisation(session, organisation_id, STAFF_SCOPE)
    parent_id = data.get("parent_id")
    if parent_id:
        get_organisation(session, parent_id, STAFF_SCOPE)
        if parent_id == organisation_id or organisation_id in _ancestors(session, parent_id):
            raise exc.GroupCycle()
    for field, value in data.items():
        setattr(organisation, field, value)
    session.commit()
    return organisation


def _ancestors(session, organisation_id) -> set:
    seen, current = set(), session.get(Organisation, organisation_id)
    while current is not None and current.parent_id and current.parent_id not in seen:
        seen.add(current.parent_id)
        current = session.get(Organisation, current.parent_id)
    return seen


def list_organisations(session, filters, limit, cursor, organisation_ids):
    stmt = select(Organisation)
    for field in ("parent_id", "business_id"):
        if filters.get(field):
            stmt = stmt.where(getattr(Organisation, field) == filters[field])
    if filters.get("name"):
        stmt = stmt.where(Organisation.name.ilike(f"%{filters['name']}%"))
    if filters.get("q"):
        stmt = stmt.where(or_(_contains(Organisation.name, filters["q"]),
                              _contains(Organisation.business_id, filters["q"].strip())))
    if filters.get("customer_status"):
        stmt = stmt.where(Organisation.id.in_(_parties_with_status("organisation", filters["customer_status"])))
    stmt = stmt.where(in_scope(Organisation.id, organisation_ids))
    return paginate(session, stmt, (Organisation.created_at, Organisation.id), limit, cursor)


def group_of(session, organisation_id) -> list[str]:
    """Every organisation in the corporate group (konserni) of `organisation_id`."""
    root = get_organisation(session, organisation_id, STAFF_SCOPE)
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
    _set_national_id(person, cipher, national_id)
    session.add(person)
    _commit(session, exc.DuplicateNationalId)
    return person


def _persons_linked_to(organisation_ids):
    """Ids of persons with a role in, or an account of, one of these organisations."""
    return union(
        select(PersonRole.person_id).where(PersonRole.organisation_id.in_(organisation_ids)),
        select(Account.person_id).where(Account.organisation_id.in_(organisation_ids), Account.person_id.is_not(None)),
    )


def get_person(session, person_id, organisation_ids) -> Person:
    """organisation_ids: the caller's scope; a person is in it when linked to one of them."""
    person = session.get(Person, person_id)
    if person is None:
        raise exc.PersonNotFound()
    if not is_staff(organisation_ids) and not session.scalars(
            select(Person.id).where(Person.id == person_id, Person.id.in_(_persons_linked_to(organisation_ids)))
    ).first():
        raise exc.PersonNotFound()
    return person


def list_persons(session, filters, limit, cursor, organisation_ids):
    stmt = select(Person)
    for field in ("email", "phone", "last_name"):
        if filters.get(field):
            stmt = stmt.where(getattr(Person, field) == filters[field])
    if filters.get("q"):
        stmt = stmt.where(_person_matches(filters["q"]))
    if filters.get("organisation_id"):
        stmt = stmt.where(Person.id.in_(select(PersonRole.person_id).where(
            PersonRole.organisation_id == filters["organisation_id"])))
    if filters.get("customer_status"):
        stmt = stmt.where(Person.id.in_(_parties_with_status("person", filters["customer_status"])))
    if not is_staff(organisation_ids):
        stmt = stmt.where(Person.id.in_(_persons_linked_to(organisation_ids)))
    return paginate(session, stmt, (Person.created_at, Person.id), limit, cursor)


def find_by_national_id(session, national_id) -> list[Person]:
    """Staff only (the gateway's role check): exact match through the blind index."""
    return session.scalars(select(Person).where(Person.national_id_index == blind_index(national_id))).all()


def _contains(column, text):
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


def _person_matches(q):
    """Every word in a name, the email or the phone; or the whole text as a phone number."""
    words = and_(*(or_(_contains(Person.first_name, word), _contains(Person.last_name, word),
                       _contains(Person.email, word), _contains(Person.phone, word)) for word in q.split()))
    try:
        return or_(words, Person.phone == validators.phone(q))
    except ValueError:
        return words


def _parties_with_status(party_type, status):
    return select(CustomerRelationship.party_id).where(CustomerRelationship.party_type == party_type,
                                                       CustomerRelationship.status == status)


def update_person(session, cipher, person_id, data, organisation_ids) -> Person:
    person = get_person(session, person_id, organisation_ids)
    if "national_id" in data:
        _set_national_id(person, cipher, data.pop("national_id"))
    for field, value in data.items():
        setattr(person, field, value)
    _commit(session, exc.DuplicateNationalId)
    return person


def _set_national_id(person, cipher, national_id):
    person.national_id_encrypted = cipher.encrypt(national_id) if national_id else None
    person.national_id_index = blind_index(national_id) if national_id else None
    person.national_id_masked = mask_national_id(national_id) if national_id else None


def rotate_national_ids(session, cipher, batch=500) -> int:
    """Re-encrypt every stored national id with the newest key; returns how many."""
    count, last_id = 0, ""
    while True:
        persons = session.scalars(select(Person).where(Person.id > last_id, Person.national_id_encrypted.is_not(None))
                                  .order_by(Person.id).limit(batch)).all()
        if not persons:
            return count
        for person in persons:
            person.national_id_encrypted = cipher.rotate(person.national_id_encrypted)
        session.commit()
        count += len(persons)
        last_id = persons[-1].id


# --- roles ----------------------------------------------------------------------------

def add_role(session, person_id, data) -> PersonRole:
    get_person(session, person_id, STAFF_SCOPE)
    if data.get("organisation_id"):
        get_organisation(session, data["organisation_id"], STAFF_SCOPE)
    role = PersonRole(person_id=person_id, **data)
    session.add(role)
    session.commit()
    return role


def list_roles(session, person_id, organisation_ids) -> list[PersonRole]:
    get_person(session, person_id, organisation_ids)
    return session.scalars(select(PersonRole).where(PersonRole.person_id == person_id)
                           .order_by(PersonRole.created_at, PersonRole.id)).all()


def remove_role(session, person_id, role_id) -> None:
    role = session.get(PersonRole, role_id)
    if role is None or role.person_id != person_id:
        raise exc.RoleNotFound()
    session.delete(role)
    session.commit()


# --- customer relationships and history ------------------------------------------------

def _customers_in_scope(organisation_ids):
    return or_(
        and_(CustomerRelationship.party_type == "organisation", CustomerRelationship.party_id.in_(organisation_ids)),
        and_(CustomerRelationship.party_type == "person",
             CustomerRelationship.party_id.in_(_persons_linked_to(organisation_ids))),
    )


def create_customer(session, data) -> CustomerRelationship:
    if data["party_type"] == "person":
        get_person(session, data["party_id"], STAFF_SCOPE)
    else:
        get_organisation(session, data["party_id"], STAFF_SCOPE)
    relationship = CustomerRelationship(**data)
    if relationship.status == "customer" and relationship.started_on is None:
        relationship.started_on = utcnow().date()
    session.add(relationship)
    session.commit()
    return relationship


def get_customer(session, customer_id, organisation_ids) -> CustomerRelationship:
    stmt = select(CustomerRelationship).where(CustomerRelationship.id == customer_id)
    if not is_staff(organisation_ids):
        stmt = stmt.where(_customers_in_scope(organisation_ids))
    relationship = session.scalars(stmt).first()
    if relationship is None:
        raise exc.CustomerNotFound()
    return relationship


def list_customers(session, filters, limit, cursor, organisation_ids):
    stmt = select(CustomerRelationship).filter_by(**filters)
    if not is_staff(organisation_ids):
        stmt = stmt.where(_customers_in_scope(organisation_ids))
    return paginate(session, stmt, (CustomerRelationship.created_at, CustomerRelationship.id), limit, cursor)


def update_customer(session, customer_id, data) -> CustomerRelationship:
    relationship = get_customer(session, customer_id, STAFF_SCOPE)
    status = data.pop("status", None)
    for field, value in data.items():
        setattr(relationship, field, value)
    if status and status != relationship.status:
        try:
            relationship.move_to(status, utcnow().date())
        except ValueError:
            raise exc.IllegalTransition(f"A {relationship.status} cannot become {status}",
                                        {"status": relationship.status, "requested": status}) from None
    session.commit()
    return relationship


def add_service_order(session, customer_id, data) -> ServiceOrder:
    get_customer(session, customer_id, STAFF_SCOPE)
    order = ServiceOrder(relationship_id=customer_id, **data)
    session.add(order)
    session.commit()
    return order


def add_satisfaction(session, customer_id, data) -> SatisfactionResponse:
    get_customer(session, customer_id, STAFF_SCOPE)
    response = SatisfactionResponse(relationship_id=customer_id, **data)
    session.add(response)
    session.commit()
    return response


def customer_history(session, customer_id, organisation_ids) -> dict:
    get_customer(session, customer_id, organisation_ids)
    return {
        "service_orders": session.scalars(select(ServiceOrder).where(ServiceOrder.relationship_id == customer_id)
                                          .order_by(ServiceOrder.ordered_at, ServiceOrder.id)).all(),
        "satisfaction": session.scalars(select(SatisfactionResponse)
                                        .where(SatisfactionResponse.relationship_id == customer_id)
                                        .order_by(SatisfactionResponse.responded_on, SatisfactionResponse.id)).all(),
    }


# --- accounts and tokens ------------------------------------------------------------

def create_account(session, data) -> Account:
    _check_account_links(session, data)
    account = Account(
        username=data["username"], password_hash=_hash(data["password"]), role=data["role"],
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
        _keep_a_staff_account(session, [account])
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
    session.commit()
    return account


def _keep_a_staff_account(session, leaving) -> None:
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
        _record_failure(session, account.username, client, now)
        raise ValidationFailed("Invalid password", {"current_password": ["Current password is wrong."]})
    if new_password.lower() == account.username.lower():
        raise ValidationFailed("Invalid password", {"new_password": ["Password must not be the username."]})
    account.password_hash = _hash(new_password)
    account.token_version += 1
    _clear_failures(session, account.username, client)
    session.commit()


def issue_token(session, username, password, client) -> dict:
    """One answer, after the same work (one argon2 verification), for an unknown username, a
    wrong password and an inactive account; the lockout is per (username, client) whether or
    not the username exists, so it reveals nothing either and cannot be used from elsewhere."""
    account = session.scalars(select(Account).where(Account.username == username)).first()
    now = utcnow()
    verified = _verify(account.password_hash if account else None, password)
    _refuse_if_locked(session, username, client, now)
    if not (verified and account.active):
        _record_failure(session, username, client, now)
        raise exc.InvalidCredentials()
    _clear_failures(session, username, client)
    session.commit()
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


def _record_failure(session, username, client, now) -> None:
    """Atomic in SQL (several identity processes): count, and lock at MAX_FAILED_LOGINS."""
    insert = insert_or_update(session, LoginFailure.__table__).values(
        username=username, client=client, failures=1, updated_at=now)
    session.execute(insert.on_conflict_do_update(
        index_elements=["username", "client"],
        set_={"failures": LoginFailure.__table__.c.failures + 1, "updated_at": now}))
    session.execute(update(LoginFailure).where(
        LoginFailure.username == username, LoginFailure.client == client,
        LoginFailure.failures >= MAX_FAILED_LOGINS).values(failures=0, locked_until=now + LOCKOUT))
    session.commit()


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


# --- access audit and web usage -----------------------------------------------------------

def record_access(session, actor: dict, person_ids, what: str) -> None:
    """Reads of personal data by staff or fleet managers (SPEC §3)."""
    if actor.get("role") not in ("staff", "fleet_manager"):
        return
    session.add_all(AccessAudit(person_id=person_id, actor_account_id=actor.get("account_id"),
                                actor_role=actor.get("role"), what=what,
                                correlation_id=actor.get("correlation_id")) for person_id in set(person_ids))
    session.commit()


def list_access(session, person_id, limit, cursor):
    get_person(session, person_id, STAFF_SCOPE)
    stmt = select(AccessAudit).where(AccessAudit.person_id == person_id)
    return paginate(session, stmt, (AccessAudit.at, AccessAudit.id), limit, cursor)


def record_usage(session, entries: list[dict]) -> None:
    """One insert per batch of requests (the gateway batches them)."""
    if entries:
        session.execute(WebUsage.__table__.insert(), [{"id": new_id(), **entry} for entry in entries])
    session.commit()


def _account_ids_of(session, person_id):
    return session.scalars(select(Account.id).where(Account.person_id == person_id)).all()


def web_usage_of(session, person_id) -> list[WebUsage]:
    return session.scalars(select(WebUsage).where(WebUsage.account_id.in_(_account_ids_of(session, person_id)))
                           .order_by(WebUsage.at)).all()


# --- personal-data lifecycle ---------------------------------------------------------------

def export_person(session, person_id) -> dict:
    person = get_person(session, person_id, STAFF_SCOPE)
    relationships = session.scalars(select(CustomerRelationship).where(
        CustomerRelationship.party_type == "person", CustomerRelationship.party_id == person_id)).all()
    return {
        "person": person,
        "roles": session.scalars(select(PersonRole).where(PersonRole.person_id == person_id)).all(),
        "customer_relationships": relationships,
        "history": {r.id: customer_history(session, r.id) for r in relationships},
        "accounts": session.scalars(select(Account).where(Account.person_id == person_id)).all(),
        "access_audit": session.scalars(select(AccessAudit).where(AccessAudit.person_id == person_id)
                                        .order_by(AccessAudit.at)).all(),
    }


def erase_person(session, person_id) -> dict:
    """Anonymise the person; idempotent. Returns what was anonymised and what is kept."""
    person = get_person(session, person_id, STAFF_SCOPE)
    accounts = session.scalars(select(Account).where(Account.person_id == person_id)).all()
    _keep_a_staff_account(session, accounts)
    anonymised = ["name", "email", "phone", "street_address", "postal_code", "city", "national_id",
                  "vehicle-user and contact roles", "web usage data", "accounts (deactivated, username and password hash removed)"]
    if person.erased_at is None:
        person.first_name = person.last_name = ERASED_NAME
        for field in ("email", "phone", "street_address", "postal_code", "city"):
            setattr(person, field, None)
        _set_national_id(person, None, None)
        person.erased_at = utcnow()
        session.execute(delete(WebUsage).where(WebUsage.account_id.in_(_account_ids_of(session, person_id))))
        session.execute(delete(PersonRole).where(PersonRole.person_id == person_id))
        for account in accounts:
            account.active = False
            account.token_version += 1
            account.username = f"erased-{account.id}"
            account.password_hash = ""
        session.commit()
    from services.identity import retention  # the schedule anonymises through this function
    relationships = session.scalars(select(CustomerRelationship).where(
        CustomerRelationship.party_type == "person", CustomerRelationship.party_id == person_id)).all()
    last_read = session.scalars(select(AccessAudit.at).where(AccessAudit.person_id == person_id)
                                .order_by(AccessAudit.at.desc()).limit(1)).first()
    return {"anonymised": anonymised, "retained": [
        {"data": "customer relationship dates and service history (without identifying data)",
         "legal_basis": "Accounting Act (1336/1997) 2:10 — bookkeeping material",
         "until": retention.history_until(relationships), "held_for": None},
        {"data": "access audit log of reads of this person's data",
         "legal_basis": "GDPR art. 5(2) accountability and art. 32 security", "until": retention.audit_until(last_read),
         "held_for": None},
    ], "erased_at": person.erased_at.isoformat()}


def ensure_admin(session, username, password) -> bool:
    """Create the bootstrap staff account unless that username exists. True if created."""
    if session.scalars(select(Account.id).where(Account.username == username)).first():
        return False
    session.add(Account(username=username, password_hash=_hash(password), role="staff"))
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
