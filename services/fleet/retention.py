"""Fleet's part of the retention schedule. Vehicle data is processed for the customer company
(GDPR art. 28); what links it to a person goes when the bookkeeping / tax period ends."""
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import aliased

from shared.retention import Rule, delete_older, keys_after

from services.fleet.models import Contract, Fueling, ServiceEvent, VehicleAssignment

SERVICE = "fleet"
BOOKKEEPING_BASIS = "Kirjanpitolaki 1336/1997 2:10 §: supporting bookkeeping data, 6 years from the end of the year"
TAX_BASIS = ("Verotusmenettelylaki 1558/1995: who drove which car when proves the car benefit, 6 years from the end "
             "of the tax year")


def _expired_assignments(session, cutoff, after, limit):
    """History rows replaced before the period; each vehicle's latest (its current driver) stays."""
    later = aliased(VehicleAssignment)
    replaced_at = (select(func.min(later.changed_at))
                   .where(later.vehicle_id == VehicleAssignment.vehicle_id,
                          later.changed_at > VehicleAssignment.changed_at).scalar_subquery())
    stmt = select(VehicleAssignment.id).where(replaced_at < cutoff)
    return session.scalars(keys_after(stmt, VehicleAssignment.id, after, limit)).all()


def _remove_assignments(session, keys, now):
    session.execute(delete(VehicleAssignment).where(VehicleAssignment.id.in_(keys)))


def _expired_contract_notes(session, cutoff, after, limit):
    stmt = select(Contract.id).where(Contract.status.in_(("ended", "terminated")), Contract.ends_on < cutoff.date(),
                                     Contract.notes.is_not(None))
    return session.scalars(keys_after(stmt, Contract.id, after, limit)).all()


def _remove_contract_notes(session, keys, now):
    session.execute(update(Contract).where(Contract.id.in_(keys)).values(notes=None))


RULES = [
    Rule("fuelings", "fuelings of the fleet's vehicles (time, place, product, litres, link to the driver)", "6y",
         "end of the year of the fueling", BOOKKEEPING_BASIS, "deleted",
         *delete_older(Fueling, Fueling.fueled_at, Fueling.fueling_id),
         year_end=True),
    Rule("driver_assignments", "history of the vehicle's drivers, organisations and cost centers (not the current)",
         "6y", "end of the year the assignment was replaced", TAX_BASIS, "deleted", _expired_assignments,
         _remove_assignments, year_end=True),
    Rule("service_events", "service events (maintenance and wash places, km, description)", "6y",
         "end of the year of the event", BOOKKEEPING_BASIS, "deleted",
         *delete_older(ServiceEvent, ServiceEvent.occurred_on), year_end=True),
    Rule("contract_notes", "free-text notes of an ended contract (the contract's terms stay with the vehicle)", "6y",
         "end of the year the contract ended", BOOKKEEPING_BASIS, "anonymised", _expired_contract_notes,
         _remove_contract_notes, year_end=True),
    Rule("dealership_contacts", "dealership seller's name, phone and email", "while in use",
         "the seller no longer serves Secto", "GDPR art. 6(1)(f) legitimate interest in ordering and delivering cars",
         "anonymised", enforced_by="staff (PATCH /dealerships/{id})"),
]
