"""Deliveries of ordered cars: the order and its (estimated or confirmed) delivery date."""
from sqlalchemy import select

from shared.db import STAFF_SCOPE, in_scope, paginate, visible

from services.fleet import exceptions as exc
from services.fleet.handlers import contracts, dealerships, vehicles
from services.fleet.models import Delivery


def create_delivery(session, data) -> Delivery:
    vehicle = vehicles.get_vehicle(session, data["vehicle_id"], STAFF_SCOPE)
    if data.get("dealership_id"):
        dealerships.get_dealership(session, data["dealership_id"])
    if data.get("contract_id"):
        contracts.get_contract(session, data["contract_id"], STAFF_SCOPE)
    delivery = Delivery(organisation_id=vehicle.user_organisation_id, **data)
    session.add(delivery)
    session.flush()  # its id, for the answer
    return delivery


def get_delivery(session, delivery_id, scope) -> Delivery:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or not visible(delivery.organisation_id, scope):
        raise exc.DeliveryNotFound()
    return delivery


def update_delivery(session, delivery_id, data) -> Delivery:
    delivery = get_delivery(session, delivery_id, STAFF_SCOPE)
    if data.get("dealership_id"):
        dealerships.get_dealership(session, data["dealership_id"])
    for field, value in data.items():
        setattr(delivery, field, value)
    return delivery


def list_deliveries(session, filters, limit, cursor, scope):
    stmt = select(Delivery).where(in_scope(Delivery.organisation_id, scope))
    if "pending" in filters:
        pending = Delivery.delivered_on.is_(None)
        stmt = stmt.where(pending if filters["pending"] else ~pending)
    for field in ("dealership_id", "contract_id"):
        if field in filters:
            stmt = stmt.where(getattr(Delivery, field) == filters[field])
    return paginate(session, stmt, (Delivery.created_at, Delivery.id), limit, cursor)
