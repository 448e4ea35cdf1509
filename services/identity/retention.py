"""Identity's part of the retention schedule: prospects and former customers are anonymised
as by an erasure (every other service's erase_person first, then identity's), their service
history, the access audit and the web usage data are deleted when their periods end."""
import datetime as dt
from collections import defaultdict

from sqlalchemy import delete, exists, or_, select

from shared.retention import Rule, delete_older, find, keys_after

from services.identity.handlers import erasure
from services.identity.models import (AccessAudit, Account, CustomerRelationship, LoginFailure, Person,
                                      PersonRole, SatisfactionResponse, ServiceOrder, WebUsage)

SERVICE = "identity"
PERSON_RULES = ("prospects", "former_customers")
CONTACT_BASIS = ("GDPR art. 6(1)(f) legitimate interest in customer relationship management and sales, "
                 "art. 5(1)(e) storage limitation")
BOOKKEEPING_BASIS = "Kirjanpitolaki 1336/1997 2:10 §: supporting bookkeeping data, 6 years from the end of the year"


# --- prospects and former customers ----------------------------------------------------

def classify(session, persons) -> dict:
    """{person_id: ("prospect", last contact) | ("former", relationship ended) | None (keep)} for
    persons not erased. A person is a customer through an own relationship or through an
    organisation it has a role in; one with an active account is a user of the system: kept."""
    ids = [person.id for person in persons]
    organisations = defaultdict(set)
    contacts = defaultdict(list)
    for role in session.scalars(select(PersonRole).where(PersonRole.person_id.in_(ids))):
        contacts[role.person_id].append(role.created_at)
        if role.organisation_id:
            organisations[role.person_id].add(role.organisation_id)
    party_ids = set(ids).union(*organisations.values())
    relationships = defaultdict(list)
    for relationship in session.scalars(select(CustomerRelationship)
                                        .where(CustomerRelationship.party_id.in_(party_ids))):
        relationships[relationship.party_id].append(relationship)
    with_account = set(session.scalars(select(Account.person_id).where(Account.person_id.in_(ids),
                                                                       Account.active.is_(True))))
    result = {}
    for person in persons:
        linked = relationships[person.id] + [r for o in organisations[person.id] for r in relationships[o]]
        if person.id in with_account or any(r.status == "customer" for r in linked):
            result[person.id] = None
        elif any(r.status == "former" for r in linked):
            result[person.id] = ("former", max(r.ended_on or r.updated_at.date() for r in linked
                                               if r.status == "former"))
        else:
            touched = [person.created_at, person.updated_at, *contacts[person.id], *(r.updated_at for r in linked)]
            result[person.id] = ("prospect", max(touched).date())
    return result


def customers_among(session, person_ids) -> list[str]:
    """Those of `person_ids` who are customers, users, or former customers within their period."""
    persons = session.scalars(select(Person).where(Person.id.in_(person_ids), Person.erased_at.is_(None))).all()
    return sorted(person_id for person_id, state in classify(session, persons).items()
                  if state is None or state[0] == "former")


def _expired_persons(kind):
    def expired(session, cutoff, after, limit):
        found = []
        while len(found) < limit:
            stmt = select(Person).where(Person.erased_at.is_(None))
            persons = session.scalars(keys_after(stmt, Person.id, after, limit)).all()
            if not persons:
                break
            for person_id, state in classify(session, persons).items():
                if state and state[0] == kind and state[1] < cutoff.date():
                    found.append(person_id)
            after = persons[-1].id
        return sorted(found)[:limit]
    return expired


def _anonymise(erase_elsewhere):
    """The other services erase the persons first (one RPC each, the staff erasure's); if one
    does not answer, the batch fails and nothing of it is committed here, so the next run
    finds the same persons again and retries (every erase_person is idempotent)."""
    def anonymise(session, keys, now):
        if erase_elsewhere is not None:
            erase_elsewhere(keys)
        for person_id in keys:
            erasure.erase_person(session, person_id)
    return anonymise


# --- service history, access audit, web usage ----------------------------------------------

def _expired_history(session, cutoff, after, limit):
    """Ended relationships with a history, or of a private person (the relationship itself goes too)."""
    has_history = or_(exists().where(ServiceOrder.relationship_id == CustomerRelationship.id),
                      exists().where(SatisfactionResponse.relationship_id == CustomerRelationship.id))
    stmt = select(CustomerRelationship.id).where(CustomerRelationship.status == "former",
                                                 CustomerRelationship.ended_on < cutoff.date(),
                                                 or_(has_history, CustomerRelationship.party_type == "person"))
    return session.scalars(keys_after(stmt, CustomerRelationship.id, after, limit)).all()


def _remove_history(session, keys, now):
    session.execute(delete(ServiceOrder).where(ServiceOrder.relationship_id.in_(keys)))
    session.execute(delete(SatisfactionResponse).where(SatisfactionResponse.relationship_id.in_(keys)))
    session.execute(delete(CustomerRelationship).where(CustomerRelationship.id.in_(keys),
                                                       CustomerRelationship.party_type == "person"))


LOGIN_FAILURES_KEPT = dt.timedelta(days=1)  # far beyond the 15-minute lockout


def _expired_login_failures(session, cutoff, after, limit):
    stmt = select(LoginFailure.username).where(LoginFailure.updated_at < cutoff).distinct()
    return session.scalars(keys_after(stmt, LoginFailure.username, after, limit)).all()


def _remove_login_failures(session, usernames, now):
    session.execute(delete(LoginFailure).where(LoginFailure.username.in_(usernames),
                                               LoginFailure.updated_at < now - LOGIN_FAILURES_KEPT))


def rules(erase_elsewhere=None):
    """The identity rules; `erase_elsewhere(person_ids)` makes every other service erase them
    (the service passes its RPC fan-out; None only in tests of identity alone)."""
    return [
        Rule("prospects", "prospects and representatives of prospect companies: name, contact data, roles, accounts",
             "2y", "last contact (change of the person, a relationship or a role)", CONTACT_BASIS, "anonymised",
             _expired_persons("prospect"), _anonymise(erase_elsewhere)),
        Rule("former_customers", "former customers and contacts of former customer companies: name, national id, "
             "contact data, roles, accounts (contracts, invoices and KYC keep their own parts by their own rules)",
             "2y", "customer relationship ended (of the person, or of every company it is linked to)", CONTACT_BASIS,
             "anonymised", _expired_persons("former"), _anonymise(erase_elsewhere)),
        Rule("customer_history", "service orders and satisfaction responses of a customer relationship, and a private "
             "customer's relationship itself (type, contract types, dates, ids in other systems)", "6y",
             "end of the year the customer relationship ended", BOOKKEEPING_BASIS, "deleted", _expired_history,
             _remove_history, year_end=True),
        Rule("access_audit", "access audit: who read whose personal data, when", "2y", "the read",
             "GDPR art. 5(2) accountability and art. 32 security of processing", "deleted",
             *delete_older(AccessAudit, AccessAudit.at)),
        Rule("web_usage", "web usage data: IP address, browser, OS, requested path", "90d", "the request",
             "GDPR art. 6(1)(f) legitimate interest in the security of the service", "deleted",
             *delete_older(WebUsage, WebUsage.at)),
        Rule("login_failures", "failed-login counters per username and client address (lockout)", "1d",
             "the last failed login", "GDPR art. 32 security of processing", "deleted", _expired_login_failures,
             _remove_login_failures),
    ]


RULES = rules()


def history_until(relationships) -> str | None:
    """Until when the service history of these relationships is kept (None while one is ongoing)."""
    if not relationships or any(r.status != "former" for r in relationships):
        return None
    return find(RULES, "customer_history").until(SERVICE, max(r.ended_on or r.updated_at.date()
                                                              for r in relationships))


def audit_until(last_read: dt.datetime | None) -> str | None:
    return find(RULES, "access_audit").until(SERVICE, last_read)
