"""Identity use cases: plain functions over a Session; each commits its own unit of work."""
import datetime as dt

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import and_, delete, or_, select, union
from sqlalchemy.exc import IntegrityError

from shared import tokens
from shared.crypto import FieldCipher, blind_index
from shared.db import in_scope, paginate, utcnow, visible
from shared.errors import ValidationFailed
from shared import validators
from shared.validators import mask_national_id

from services.identity import exceptions as exc
from services.identity.models import (AccessAudit, Account, CustomerRelationship, Organisation, Person, PersonRole,
                                      SatisfactionResponse, ServiceOrder, WebUsage)

MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
WEB_USAGE_RETENTION = dt.timedelta(days=90)
ERASED_NAME = "Erased"
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


def get_organisation(session, organisation_id, organisation_ids=None) -> Organisation:
    """organisation_ids: the caller's scope (None = everything)."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None or not visible(organisation_id, organisation_ids):
        raise exc.OrganisationNotFound()
    return organisation


def update_organisation(session, organisation_id, data) -> Organisation:
    organisation = get_organisation(session, organisation_id)
    parent_id = data.get("parent_id")
    if parent_id:
        get_organisation(session, parent_id)
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


def list_organisations(session, filters, limit, cursor, organisation_ids=None):
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


def get_person(session, person_id, organisation_ids=None) -> Person:
    """organisation_ids: the caller's scope; a person is in it when linked to one of them."""
    person = session.get(Person, person_id)
    if person is None:
        raise exc.PersonNotFound()
    if organisation_ids is not None and not session.scalars(
            select(Person.id).where(Person.id == person_id, Person.id.in_(_persons_linked_to(organisation_ids)))
    ).first():
        raise exc.PersonNotFound()
    return person


def list_persons(session, filters, limit, cursor, organisation_ids=None):
    stmt = select(Person)
    if filters.get("national_id"):
        if organisation_ids is not None:
            raise ValidationFailed("Invalid filter", {"national_id": ["Only staff may search by national id."]})
        stmt = stmt.where(Person.national_id_index == blind_index(filters["national_id"]))
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
    if organisation_ids is not None:
        stmt = stmt.where(Person.id.in_(_persons_linked_to(organisation_ids)))
    return paginate(session, stmt, (Person.created_at, Person.id), limit, cursor)


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


def update_person(session, cipher, person_id, data, organisation_ids=None) -> Person:
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
    get_person(session, person_id)
    if data.get("organisation_id"):
        get_organisation(session, data["organisation_id"])
    role = PersonRole(person_id=person_id, **data)
    session.add(role)
    session.commit()
    return role


def list_roles(session, person_id, organisation_ids=None) -> list[PersonRole]:
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
        get_person(session, data["party_id"])
    else:
        get_organisation(session, data["party_id"])
    relationship = CustomerRelationship(**data)
    if relationship.status == "customer" and relationship.started_on is None:
        relationship.started_on = utcnow().date()
    session.add(relationship)
    session.commit()
    return relationship


def get_customer(session, customer_id, organisation_ids=None) -> CustomerRelationship:
    stmt = select(CustomerRelationship).where(CustomerRelationship.id == customer_id)
    if organisation_ids is not None:
        stmt = stmt.where(_customers_in_scope(organisation_ids))
    relationship = session.scalars(stmt).first()
    if relationship is None:
        raise exc.CustomerNotFound()
    return relationship


def list_customers(session, filters, limit, cursor, organisation_ids=None):
    stmt = select(CustomerRelationship).filter_by(**filters)
    if organisation_ids is not None:
        stmt = stmt.where(_customers_in_scope(organisation_ids))
    return paginate(session, stmt, (CustomerRelationship.created_at, CustomerRelationship.id), limit, cursor)


def update_customer(session, customer_id, data) -> CustomerRelationship:
    relationship = get_customer(session, customer_id)
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
    get_customer(session, customer_id)
    order = ServiceOrder(relationship_id=customer_id, **data)
    session.add(order)
    session.commit()
    return order


def add_satisfaction(session, customer_id, data) -> SatisfactionResponse:
    get_customer(session, customer_id)
    response = SatisfactionResponse(relationship_id=customer_id, **data)
    session.add(response)
    session.commit()
    return response


def customer_history(session, customer_id, organisation_ids=None) -> dict:
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


def get_account(session, account_id, organisation_ids=None) -> Account:
    account = session.get(Account, account_id)
    if account is None or not visible(account.organisation_id, organisation_ids):
        raise exc.AccountNotFound()
    return account


def list_accounts(session, filters, limit, cursor, organisation_ids=None):
    stmt = select(Account).filter_by(**filters).where(in_scope(Account.organisation_id, organisation_ids))
    return paginate(session, stmt, (Account.created_at, Account.id), limit, cursor)


def update_account(session, account_id, data) -> Account:
    account = get_account(session, account_id)
    if data.get("active") is False and account.active:
        account.token_version += 1  # its tokens stop working at once
    if "password" in data:
        _reset_password(account, data.pop("password"))
    for field, value in data.items():
        setattr(account, field, value)
    session.commit()
    return account


def _reset_password(account, password):
    if password.lower() == account.username.lower():
        raise ValidationFailed("Invalid password", {"password": ["Password must not be the username."]})
    account.password_hash = _hasher.hash(password)
    account.token_version += 1
    account.failed_logins = 0
    account.locked_until = None


def change_password(session, account_id, current_password, new_password) -> None:
    account = get_account(session, account_id)
    if not _verify(account.password_hash, current_password):
        raise ValidationFailed("Invalid password", {"current_password": ["Current password is wrong."]})
    if new_password.lower() == account.username.lower():
        raise ValidationFailed("Invalid password", {"new_password": ["Password must not be the username."]})
    account.password_hash = _hasher.hash(new_password)
    account.token_version += 1
    session.commit()


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
    get_person(session, person_id)
    stmt = select(AccessAudit).where(AccessAudit.person_id == person_id)
    return paginate(session, stmt, (AccessAudit.at, AccessAudit.id), limit, cursor)


def record_usage(session, entry: dict) -> None:
    session.add(WebUsage(**entry))
    session.commit()


def purge_usage(session, now=None) -> int:
    result = session.execute(delete(WebUsage).where(WebUsage.at < (now or utcnow()) - WEB_USAGE_RETENTION))
    session.commit()
    return result.rowcount


def _account_ids_of(session, person_id):
    return session.scalars(select(Account.id).where(Account.person_id == person_id)).all()


def web_usage_of(session, person_id) -> list[WebUsage]:
    return session.scalars(select(WebUsage).where(WebUsage.account_id.in_(_account_ids_of(session, person_id)))
                           .order_by(WebUsage.at)).all()


# --- personal-data lifecycle ---------------------------------------------------------------

def export_person(session, person_id) -> dict:
    person = get_person(session, person_id)
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
    person = get_person(session, person_id)
    anonymised = ["name", "email", "phone", "street_address", "postal_code", "city", "national_id",
                  "vehicle-user and contact roles", "web usage data", "accounts (deactivated, username removed)"]
    if person.erased_at is None:
        person.first_name = person.last_name = ERASED_NAME
        for field in ("email", "phone", "street_address", "postal_code", "city"):
            setattr(person, field, None)
        _set_national_id(person, None, None)
        person.erased_at = utcnow()
        session.execute(delete(WebUsage).where(WebUsage.account_id.in_(_account_ids_of(session, person_id))))
        session.execute(delete(PersonRole).where(PersonRole.person_id == person_id))
        for account in session.scalars(select(Account).where(Account.person_id == person_id)):
            account.active = False
            account.token_version += 1
            account.username = f"erased-{account.id}"
        session.commit()
    return {"anonymised": anonymised, "retained": [
        {"data": "customer relationship dates and service history (without identifying data)",
         "legal_basis": "Accounting Act (1336/1997) 2:10 — bookkeeping material", "until": None, "held_for": None},
        {"data": "access audit log of reads of this person's data",
         "legal_basis": "GDPR art. 5(2) accountability and art. 32 security", "until": None, "held_for": None},
    ], "erased_at": person.erased_at.isoformat()}


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
