"""Service events of a vehicle: maintenance and washes."""
from sqlalchemy import select

from shared.db import STAFF_SCOPE, in_scope, paginate

from services.fleet.handlers import vehicles
from services.fleet.models import ServiceEvent


def add_service_event(session, vehicle_id, data) -> ServiceEvent:
    vehicle = vehicles.get_vehicle(session, vehicle_id, STAFF_SCOPE)
    event = ServiceEvent(vehicle_id=vehicle_id, organisation_id=vehicle.user_organisation_id, **data)
    session.add(event)
    session.flush()  # its id, for the answer
    return event


def list_service_events(session, vehicle_id, scope, limit, cursor):
    vehicles.held_vehicle(session, vehicle_id, scope)
    stmt = select(ServiceEvent).where(ServiceEvent.vehicle_id == vehicle_id,
                                      in_scope(ServiceEvent.organisation_id, scope))
    return paginate(session, stmt, (ServiceEvent.occurred_on, ServiceEvent.id), limit, cursor)
