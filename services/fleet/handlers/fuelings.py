"""Fuelings from driver.fueling_recorded (usage for the fuel and cost reports)."""
from sqlalchemy import select

from shared.db import insert_or_update

from services.fleet.models import Fueling, Vehicle


FUELING_FIELDS = ("fueling_id", "event_id", "vehicle_id", "person_id", "organisation_id", "product", "company",
                  "municipality", "station", "liters", "amount_eur", "fueled_at")


def record_fuelings(session, fuelings) -> int:
    """The fuelings of driver.fueling_recorded, in one statement, each once per fueling_id (a
    repeated event, or one handled by two workers at once, changes nothing). Returns how many
    were stored now."""
    unknown = {f["vehicle_id"] for f in fuelings if not f.get("organisation_id")}
    organisations = dict(session.execute(select(Vehicle.id, Vehicle.user_organisation_id)  # an event that does
                                         .where(Vehicle.id.in_(unknown))).all()) if unknown else {}  # not say yet
    rows = [{**{name: fueling.get(name) for name in FUELING_FIELDS}, "month": fueling["fueled_at"].strftime("%Y-%m"),
             "organisation_id": fueling.get("organisation_id") or organisations.get(fueling["vehicle_id"])}
            for fueling in fuelings]
    insert = insert_or_update(session, Fueling.__table__).on_conflict_do_nothing(index_elements=["fueling_id"])
    return len(session.scalars(insert.returning(Fueling.fueling_id), rows).all()) if rows else 0
