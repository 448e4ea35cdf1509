"""Who read whose personal data (access audit) and the web usage data the gateway reports."""
from sqlalchemy import select

from shared.db import STAFF_SCOPE, new_id, paginate

from services.identity.handlers.persons import get_person
from services.identity.models import AccessAudit, Account, WebUsage


def record_access(session, actor: dict, person_ids, what: str) -> None:
    """Reads of personal data by staff or fleet managers (SPEC §3)."""
    if actor.get("role") not in ("staff", "fleet_manager"):
        return
    session.add_all(AccessAudit(person_id=person_id, actor_account_id=actor.get("account_id"),
                                actor_role=actor.get("role"), what=what,
                                correlation_id=actor.get("correlation_id")) for person_id in set(person_ids))


def list_access(session, person_id, limit, cursor):
    get_person(session, person_id, STAFF_SCOPE)
    stmt = select(AccessAudit).where(AccessAudit.person_id == person_id)
    return paginate(session, stmt, (AccessAudit.at, AccessAudit.id), limit, cursor)


def record_usage(session, entries: list[dict]) -> None:
    """One insert per batch of requests (the gateway batches them)."""
    if entries:
        session.execute(WebUsage.__table__.insert(), [{"id": new_id(), **entry} for entry in entries])


def account_ids_of(session, person_id):
    return session.scalars(select(Account.id).where(Account.person_id == person_id)).all()


def web_usage_of(session, person_id) -> list[WebUsage]:
    return session.scalars(select(WebUsage).where(WebUsage.account_id.in_(account_ids_of(session, person_id)))
                           .order_by(WebUsage.at)).all()
