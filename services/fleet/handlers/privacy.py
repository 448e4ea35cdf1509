"""Personal-data lifecycle: what fleet holds of a person, and its erasure."""
import datetime as dt

from sqlalchemy import select

from services.fleet.models import Contract, Fueling, Vehicle, VehicleAssignment


def export_person(session, person_id) -> dict:
    vehicles = session.scalars(select(Vehicle).where(Vehicle.driver_person_id == person_id)
                               .order_by(Vehicle.created_at)).all()
    assignments = session.scalars(select(VehicleAssignment).where(VehicleAssignment.driver_person_id == person_id)
                                  .order_by(VehicleAssignment.changed_at)).all()
    contracts = session.scalars(select(Contract).where(Contract.customer_id == person_id)
                                .order_by(Contract.created_at)).all()
    fuelings = session.scalars(select(Fueling).where(Fueling.person_id == person_id)
                               .order_by(Fueling.fueled_at)).all()
    return {"vehicles": vehicles, "assignments": assignments, "contracts": contracts, "fuelings": fuelings}


def erase_person(session, person_id) -> dict:
    """Contracts of a private customer are bookkeeping records: kept, free-text notes cleared.
    Vehicle data is processed for the customer company: the driver link and its history are
    kept for that company and removed on its instruction (PATCH the vehicle); fuelings lose
    the link to the person."""
    contracts = session.scalars(select(Contract).where(Contract.customer_id == person_id)).all()
    for contract in contracts:
        contract.notes = None
    fuelings = session.scalars(select(Fueling).where(Fueling.person_id == person_id)).all()
    for fueling in fuelings:
        fueling.person_id = None
    vehicles = session.scalars(select(Vehicle).where(Vehicle.driver_person_id == person_id)).all()
    held = sorted({v.user_organisation_id for v in vehicles} | set(session.scalars(
        select(VehicleAssignment.user_organisation_id).where(VehicleAssignment.driver_person_id == person_id))))
    retained = [{"data": f"contract {c.id} (customer's own leasing contract)",
                 "legal_basis": "Kirjanpitolaki 1336/1997 2:10 §: accounting records, 6 years from the end of the "
                                "year the contract ended",
                 "until": dt.date(c.ends_on.year + 6, 12, 31).isoformat(), "held_for": None} for c in contracts]
    retained += [{"data": "vehicle driver assignment and its history (processor data)",
                  "legal_basis": "Processor for the customer company (GDPR art. 28): removed on its instruction",
                  "until": None, "held_for": organisation_id} for organisation_id in held]
    anonymised = ["links from fuelings to the person"]  # the same report every time: erasure is idempotent
    if contracts:
        anonymised.insert(0, "free-text notes of the person's contracts")
    return {"anonymised": anonymised, "retained": retained}
