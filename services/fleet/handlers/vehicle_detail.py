"""The aggregated vehicle as its page shows it: the car, its current contract, its latest
odometer reading and a delivery under way (who may see it: handlers.vehicles)."""
from sqlalchemy import select

from shared.db import in_scope

from services.fleet.handlers import odometer
from services.fleet.handlers.vehicles import get_vehicle
from services.fleet.models import Contract, Delivery


def vehicle_detail(session, vehicle_id, scope) -> dict:
    vehicle = get_vehicle(session, vehicle_id, scope)
    contract = session.scalars(select(Contract).where(Contract.vehicle_id == vehicle_id,
                                                      in_scope(Contract.customer_id, scope))
                               .order_by(Contract.starts_on.desc(), Contract.created_at.desc())).first()
    delivery = session.scalars(select(Delivery).where(Delivery.vehicle_id == vehicle_id,
                                                      Delivery.delivered_on.is_(None),
                                                      in_scope(Delivery.organisation_id, scope))
                               .order_by(Delivery.created_at.desc())).first()
    return {**_columns(vehicle), "contract": contract,
            "latest_odometer": odometer.latest_reading(session, vehicle_id, scope), "delivery": delivery}


def _columns(row) -> dict:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}
