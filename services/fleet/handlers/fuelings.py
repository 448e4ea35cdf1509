"""Fuelings from driver.fueling_recorded (usage for the fuel and cost reports)."""
from sqlalchemy.exc import IntegrityError

from shared.db import savepoint

from services.fleet.models import Fueling, Vehicle


def record_fueling(session, data) -> bool:
    """Idempotent by fueling_id: a repeated event changes nothing. True when stored now."""
    if session.get(Fueling, data["fueling_id"]) is not None:
        return False
    if not data.get("organisation_id"):  # an event of a driver service that does not say yet
        vehicle = session.get(Vehicle, data["vehicle_id"])
        data["organisation_id"] = vehicle.user_organisation_id if vehicle else None
    try:
        with savepoint(session):
            session.add(Fueling(**data, month=data["fueled_at"].strftime("%Y-%m")))
    except IntegrityError:  # the same event handled concurrently by another worker
        return False
    return True
