"""Organisations and corporate groups (konserni)."""
from sqlalchemy import or_, select

from shared.db import STAFF_SCOPE, in_scope, paginate, publish, visible
from shared.messaging import ORGANISATION_CHANGED

from services.identity import exceptions as exc, schemas
from services.identity.handlers.common import contains, flush_or, parties_with_status
from services.identity.models import Organisation


def create_organisation(session, data) -> Organisation:
    if data.get("parent_id"):
        get_organisation(session, data["parent_id"], STAFF_SCOPE)
    organisation = Organisation(**data)
    session.add(organisation)
    flush_or(session, exc.DuplicateBusinessId)
    publish(session, ORGANISATION_CHANGED, schemas.OrganisationEvent().dump(organisation))
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
    session.flush()
    publish(session, ORGANISATION_CHANGED, schemas.OrganisationEvent().dump(organisation))
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
        stmt = stmt.where(or_(contains(Organisation.name, filters["q"]),
                              contains(Organisation.business_id, filters["q"].strip())))
    if filters.get("customer_status"):
        stmt = stmt.where(Organisation.id.in_(parties_with_status("organisation", filters["customer_status"])))
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
