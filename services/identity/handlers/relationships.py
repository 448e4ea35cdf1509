"""Customer relationships (prospect -> customer -> former, the state machine is on the model),
their service orders and satisfaction responses."""
from sqlalchemy import and_, or_, select

from shared.db import STAFF_SCOPE, is_staff, paginate, publish, utcnow
from shared.messaging import CUSTOMER_RELATIONSHIP_CHANGED

from services.identity import exceptions as exc, schemas
from services.identity.handlers.organisations import get_organisation
from services.identity.handlers.persons import get_person, persons_linked_to
from services.identity.models import CustomerRelationship, SatisfactionResponse, ServiceOrder


def _customers_in_scope(organisation_ids):
    return or_(
        and_(CustomerRelationship.party_type == "organisation", CustomerRelationship.party_id.in_(organisation_ids)),
        and_(CustomerRelationship.party_type == "person",
             CustomerRelationship.party_id.in_(persons_linked_to(organisation_ids))),
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
    session.flush()
    _relationship_changed(session, relationship.party_id)
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
    session.flush()
    _relationship_changed(session, relationship.party_id)
    return relationship


def _relationship_changed(session, party_id) -> None:
    publish(session, CUSTOMER_RELATIONSHIP_CHANGED, relationship_changed(session, party_id))


def relationship_changed(session, party_id) -> dict:
    """The customer_relationship_changed payload KYC keeps its until-dates by: the party's
    relationship has ended when every relationship of it has (ended_on = the latest end),
    else ended_on is None."""
    relationships = session.scalars(select(CustomerRelationship)
                                    .where(CustomerRelationship.party_id == party_id)).all()
    ended = bool(relationships) and all(r.status == "former" for r in relationships)
    return schemas.CustomerRelationshipChangedEvent().dump({
        "party_id": party_id, "party_type": relationships[0].party_type if relationships else None,
        "ended_on": max(r.ended_on or r.updated_at.date() for r in relationships) if ended else None})


def add_service_order(session, customer_id, data) -> ServiceOrder:
    get_customer(session, customer_id, STAFF_SCOPE)
    order = ServiceOrder(relationship_id=customer_id, **data)
    session.add(order)
    session.flush()
    return order


def add_satisfaction(session, customer_id, data) -> SatisfactionResponse:
    get_customer(session, customer_id, STAFF_SCOPE)
    response = SatisfactionResponse(relationship_id=customer_id, **data)
    session.add(response)
    session.flush()
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
