"""A person's roles: contact / representative of an organisation, user / decision maker of a vehicle."""
from sqlalchemy import select

from shared.db import STAFF_SCOPE

from services.identity import exceptions as exc
from services.identity.handlers.organisations import get_organisation
from services.identity.handlers.persons import get_person
from services.identity.models import PersonRole


def add_role(session, person_id, data) -> PersonRole:
    get_person(session, person_id, STAFF_SCOPE)
    if data.get("organisation_id"):
        get_organisation(session, data["organisation_id"], STAFF_SCOPE)
    role = PersonRole(person_id=person_id, **data)
    session.add(role)
    session.flush()
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
