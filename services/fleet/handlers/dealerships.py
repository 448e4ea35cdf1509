"""Dealerships that deliver the ordered cars."""
from sqlalchemy import select

from shared.db import paginate

from services.fleet import exceptions as exc
from services.fleet.models import Dealership


def create_dealership(session, data) -> Dealership:
    dealership = Dealership(**data)
    session.add(dealership)
    session.flush()  # its id, for the answer
    return dealership


def get_dealership(session, dealership_id) -> Dealership:
    dealership = session.get(Dealership, dealership_id)
    if dealership is None:
        raise exc.DealershipNotFound()
    return dealership


def update_dealership(session, dealership_id, data) -> Dealership:
    dealership = get_dealership(session, dealership_id)
    for field, value in data.items():
        setattr(dealership, field, value)
    return dealership


def list_dealerships(session, limit, cursor):
    return paginate(session, select(Dealership), (Dealership.created_at, Dealership.id), limit, cursor)
