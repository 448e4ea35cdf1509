"""Where the vehicle's tires are stored."""
from shared.db import utcnow

from services.driver.handlers import drivers
from services.driver.models import Vehicle


def set_tire_storage(session, vehicle_id, location) -> Vehicle:
    vehicle = drivers.vehicle_row(session, vehicle_id)
    vehicle.tire_storage = location
    vehicle.tire_storage_updated_at = utcnow()
    return vehicle


def my_tire_storage(session, person_id) -> Vehicle:
    return drivers.require_vehicle(session, person_id)
