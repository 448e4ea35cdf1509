"""Leasing contracts. The contract state machine is on the model (Contract.move_to,
models.TRANSITIONS); its vehicle's status follows it."""
import calendar
import datetime as dt

from sqlalchemy import select

from shared.db import STAFF_SCOPE, in_scope, paginate, publish, savepoint, visible
from shared.errors import ValidationFailed
from shared.messaging import CONTRACT_CHANGED

from services.fleet import exceptions as exc
from services.fleet import schemas
from services.fleet.handlers import vehicles
from services.fleet.models import OPEN_CONTRACT_STATUSES, Contract, Vehicle


def _add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, or the last day of that month if it is shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def create_contract(session, data) -> Contract:
    vehicle = vehicles.get_vehicle(session, data["vehicle_id"], STAFF_SCOPE)
    if session.scalars(select(Contract.id).where(Contract.vehicle_id == vehicle.id,
                                                 Contract.status.in_(OPEN_CONTRACT_STATUSES))).first():
        raise exc.OpenContractExists(details={"vehicle_id": vehicle.id})
    if not data.get("ends_on"):
        data["ends_on"] = _add_months(data["starts_on"], data["length_months"]) - dt.timedelta(days=1)
    contract = Contract(**data)
    contract.place(vehicle)
    session.add(contract)
    session.flush()  # its id and defaults, for the event and the answer
    _contract_changed(session, contract)
    return contract


def get_contract(session, contract_id, scope) -> Contract:
    """A contract belongs to its customer, whoever uses the vehicle now."""
    contract = session.get(Contract, contract_id)
    if contract is None or not visible(contract.customer_id, scope):
        raise exc.ContractNotFound()
    return contract


def update_contract(session, contract_id, data) -> Contract:
    contract = get_contract(session, contract_id, STAFF_SCOPE)
    status = data.pop("status", None)
    with savepoint(session):  # a refused change leaves the contract and its vehicle as they were
        if status is not None:
            try:
                contract.move_to(status)
            except ValueError:
                raise exc.IllegalTransition(details={"from": contract.status, "to": status,
                                                     "allowed": contract.next_statuses}) from None
        for field, value in data.items():
            setattr(contract, field, value)
        if contract.ends_on < contract.starts_on:
            raise ValidationFailed("Invalid input", {"ends_on": ["Must not be before starts_on."]})
    _contract_changed(session, contract)
    return contract


def _contract_changed(session, contract):
    publish(session, CONTRACT_CHANGED, schemas.ContractChangedEvent().dump(contract))


def list_contracts(session, filters, limit, cursor, scope):
    stmt = select(Contract).join(Contract.vehicle).where(in_scope(Contract.customer_id, scope))
    for field in ("status", "vehicle_id", "customer_id"):
        if field in filters:
            stmt = stmt.where(getattr(Contract, field) == filters[field])
    for field in ("cost_center", "driver_person_id"):
        if field in filters:
            stmt = stmt.where(getattr(Vehicle, field) == filters[field])
    if "ends_before" in filters:
        stmt = stmt.where(Contract.ends_on < filters["ends_before"])
    return paginate(session, stmt, (Contract.created_at, Contract.id), limit, cursor)


def contracts_for_billing(session, period: str) -> list[Contract]:
    """Active contracts whose term overlaps the month `YYYY-MM`."""
    first = dt.date.fromisoformat(f"{period}-01")
    last = _add_months(first, 1) - dt.timedelta(days=1)
    return session.scalars(select(Contract).where(Contract.status == "active", Contract.starts_on <= last,
                                                  Contract.ends_on >= first)
                           .order_by(Contract.customer_id, Contract.id)).all()
