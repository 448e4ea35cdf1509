"""Fleet use cases: plain functions over a Session; each commits its own unit of work."""
import calendar
import datetime as dt
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from shared.db import STAFF_SCOPE, in_scope, insert_or_update, paginate, utcnow, visible
from shared.errors import ValidationFailed
from shared.logging import get_logger

from services.fleet import exceptions as exc
from services.fleet.models import (OPEN_CONTRACT_STATUSES, TRANSITIONS, Contract, Dealership, Delivery, Fueling,
                                   OdometerReading, ServiceEvent, Vehicle, VehicleAssignment)

log = get_logger(__name__)

# what a contract status means for its vehicle
VEHICLE_STATUS_OF = {"ordered": "ordered", "awaiting_delivery": "awaiting_delivery", "active": "in_use",
                     "ended": "returned", "terminated": "returned"}
ASSIGNMENT_FIELDS = ("driver_person_id", "user_organisation_id", "cost_center")


# --- vehicles -----------------------------------------------------------------------

def create_vehicle(session, data, actor_id=None) -> Vehicle:
    vehicle = Vehicle(**data)
    session.add(vehicle)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise exc.DuplicateRegistration(details={"registration_number": data["registration_number"]}) from None
    _record_assignment(session, vehicle, actor_id)
    session.commit()
    return vehicle


def get_vehicle(session, vehicle_id, scope) -> Vehicle:
    """The vehicle as its current user organisation sees it; outside the caller's scope it does not exist."""
    vehicle = session.get(Vehicle, vehicle_id)
    if vehicle is None or not visible(vehicle.user_organisation_id, scope):
        raise exc.VehicleNotFound()
    return vehicle


def held_vehicle(session, vehicle_id, scope) -> Vehicle:
    """A vehicle the caller's organisations use now or used before (a re-leased car's
    former user still reads its own period of it); otherwise it does not exist."""
    vehicle = session.get(Vehicle, vehicle_id)
    if vehicle is None:
        raise exc.VehicleNotFound()
    if not visible(vehicle.user_organisation_id, scope) and session.scalars(select(VehicleAssignment.id).where(
            VehicleAssignment.vehicle_id == vehicle_id,
            in_scope(VehicleAssignment.user_organisation_id, scope)).limit(1)).first() is None:
        raise exc.VehicleNotFound()
    return vehicle


def update_vehicle(session, vehicle_id, data, actor_id=None) -> tuple[Vehicle, str | None, bool]:
    """Returns (vehicle, previous driver, whether the assignment changed)."""
    vehicle = get_vehicle(session, vehicle_id, STAFF_SCOPE)
    previous_driver = vehicle.driver_person_id
    assignment_changed = any(field in data and data[field] != getattr(vehicle, field) for field in ASSIGNMENT_FIELDS)
    for field, value in data.items():
        setattr(vehicle, field, value)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise exc.DuplicateRegistration(details={"registration_number": data.get("registration_number")}) from None
    if assignment_changed:
        _record_assignment(session, vehicle, actor_id)
    session.commit()
    return vehicle, previous_driver, assignment_changed


def _record_assignment(session, vehicle, actor_id):
    session.add(VehicleAssignment(vehicle_id=vehicle.id, driver_person_id=vehicle.driver_person_id,
                                  user_organisation_id=vehicle.user_organisation_id,
                                  cost_center=vehicle.cost_center, changed_by=actor_id, changed_at=utcnow()))


def vehicle_history(session, vehicle_id, scope, limit, cursor):
    """The assignments made while the caller's organisations used the vehicle."""
    held_vehicle(session, vehicle_id, scope)
    stmt = select(VehicleAssignment).where(VehicleAssignment.vehicle_id == vehicle_id,
                                           in_scope(VehicleAssignment.user_organisation_id, scope))
    return paginate(session, stmt, (VehicleAssignment.changed_at, VehicleAssignment.id), limit, cursor)


def list_vehicles(session, filters, limit, cursor, scope):
    stmt = select(Vehicle).where(in_scope(Vehicle.user_organisation_id, scope))
    for field in ("status", "cost_center", "driver_person_id", "user_organisation_id", "vehicle_class",
                  "power_source", "registration_number"):
        if field in filters:
            stmt = stmt.where(getattr(Vehicle, field) == filters[field])
    if "contract_ends_before" in filters:
        stmt = stmt.where(Vehicle.id.in_(select(Contract.vehicle_id).where(
            Contract.status.in_(OPEN_CONTRACT_STATUSES), Contract.ends_on < filters["contract_ends_before"])))
    return paginate(session, stmt, (Vehicle.created_at, Vehicle.id), limit, cursor)


def vehicle_detail(session, vehicle_id, scope) -> dict:
    vehicle = get_vehicle(session, vehicle_id, scope)
    contract = session.scalars(select(Contract).where(Contract.vehicle_id == vehicle_id,
                                                      in_scope(Contract.customer_id, scope))
                               .order_by(Contract.starts_on.desc(), Contract.created_at.desc())).first()
    delivery = session.scalars(select(Delivery).where(Delivery.vehicle_id == vehicle_id,
                                                      Delivery.delivered_on.is_(None),
                                                      in_scope(Delivery.organisation_id, scope))
                               .order_by(Delivery.created_at.desc())).first()
    return {**_columns(vehicle), "contract": contract, "latest_odometer": latest_reading(session, vehicle_id, scope),
            "delivery": delivery}


def _columns(row) -> dict:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


# --- contracts ----------------------------------------------------------------------

def _add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, or the last day of that month if it is shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def create_contract(session, data) -> Contract:
    vehicle = get_vehicle(session, data["vehicle_id"], STAFF_SCOPE)
    if session.scalars(select(Contract.id).where(Contract.vehicle_id == vehicle.id,
                                                 Contract.status.in_(OPEN_CONTRACT_STATUSES))).first():
        raise exc.OpenContractExists(details={"vehicle_id": vehicle.id})
    if not data.get("ends_on"):
        data["ends_on"] = _add_months(data["starts_on"], data["length_months"]) - dt.timedelta(days=1)
    contract = Contract(**data)
    session.add(contract)
    vehicle.status = VEHICLE_STATUS_OF[contract.status or "ordered"]
    session.commit()
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
    if status is not None and status != contract.status:
        if status not in TRANSITIONS[contract.status]:
            raise exc.IllegalTransition(details={"from": contract.status, "to": status,
                                                 "allowed": sorted(TRANSITIONS[contract.status])})
        contract.status = status
        contract.vehicle.status = VEHICLE_STATUS_OF[status]
    for field, value in data.items():
        setattr(contract, field, value)
    if contract.ends_on < contract.starts_on:
        session.rollback()
        raise ValidationFailed("Invalid input", {"ends_on": ["Must not be before starts_on."]})
    session.commit()
    return contract


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


# --- dealerships and deliveries -----------------------------------------------------

def create_dealership(session, data) -> Dealership:
    dealership = Dealership(**data)
    session.add(dealership)
    session.commit()
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
    session.commit()
    return dealership


def list_dealerships(session, limit, cursor):
    return paginate(session, select(Dealership), (Dealership.created_at, Dealership.id), limit, cursor)


def create_delivery(session, data) -> Delivery:
    vehicle = get_vehicle(session, data["vehicle_id"], STAFF_SCOPE)
    if data.get("dealership_id"):
        get_dealership(session, data["dealership_id"])
    if data.get("contract_id"):
        get_contract(session, data["contract_id"], STAFF_SCOPE)
    delivery = Delivery(organisation_id=vehicle.user_organisation_id, **data)
    session.add(delivery)
    session.commit()
    return delivery


def get_delivery(session, delivery_id, scope) -> Delivery:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or not visible(delivery.organisation_id, scope):
        raise exc.DeliveryNotFound()
    return delivery


def update_delivery(session, delivery_id, data) -> Delivery:
    delivery = get_delivery(session, delivery_id, STAFF_SCOPE)
    if data.get("dealership_id"):
        get_dealership(session, data["dealership_id"])
    for field, value in data.items():
        setattr(delivery, field, value)
    session.commit()
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


# --- usage --------------------------------------------------------------------------

def latest_reading(session, vehicle_id, scope) -> OdometerReading | None:
    return latest_readings(session, [vehicle_id], scope).get(vehicle_id)


def latest_readings(session, vehicle_ids, scope) -> dict[str, OdometerReading]:
    """The highest reading in scope (the later one on a tie) of each vehicle, in one query."""
    ranked = select(OdometerReading, func.row_number().over(
        partition_by=OdometerReading.vehicle_id,
        order_by=(OdometerReading.km.desc(), OdometerReading.read_on.desc())).label("rank")
    ).where(OdometerReading.vehicle_id.in_(vehicle_ids), in_scope(OdometerReading.organisation_id, scope)).subquery()
    latest = aliased(OdometerReading, ranked)
    return {reading.vehicle_id: reading for reading in session.scalars(select(latest).where(ranked.c.rank == 1))}


def add_reading(session, vehicle_id, data, source_ref=None, organisation_id=None) -> OdometerReading:
    """A reading must not be below one taken on or before its date, nor above one taken on
    or after it (409). It belongs to `organisation_id`, by default the vehicle's user now."""
    vehicle = get_vehicle(session, vehicle_id, STAFF_SCOPE)
    km, read_on = data["km"], data["read_on"]
    contradicting = session.scalars(select(OdometerReading).where(
        OdometerReading.vehicle_id == vehicle_id,
        or_(and_(OdometerReading.read_on <= read_on, OdometerReading.km > km),
            and_(OdometerReading.read_on >= read_on, OdometerReading.km < km)))
        .order_by(OdometerReading.read_on)).first()
    if contradicting is not None:
        raise exc.OdometerBackwards(details={"km": km, "read_on": read_on.isoformat(),
                                             "conflicts_with": {"km": contradicting.km,
                                                                "read_on": contradicting.read_on.isoformat()}})
    reading = OdometerReading(vehicle_id=vehicle_id, source_ref=source_ref,
                              organisation_id=organisation_id or vehicle.user_organisation_id, **data)
    session.add(reading)
    session.commit()
    return reading


def list_readings(session, vehicle_id, scope, limit, cursor):
    held_vehicle(session, vehicle_id, scope)
    stmt = select(OdometerReading).where(OdometerReading.vehicle_id == vehicle_id,
                                         in_scope(OdometerReading.organisation_id, scope))
    return paginate(session, stmt, (OdometerReading.read_on, OdometerReading.km, OdometerReading.id), limit, cursor)


def add_service_event(session, vehicle_id, data) -> ServiceEvent:
    vehicle = get_vehicle(session, vehicle_id, STAFF_SCOPE)
    event = ServiceEvent(vehicle_id=vehicle_id, organisation_id=vehicle.user_organisation_id, **data)
    session.add(event)
    session.commit()
    return event


def list_service_events(session, vehicle_id, scope, limit, cursor):
    held_vehicle(session, vehicle_id, scope)
    stmt = select(ServiceEvent).where(ServiceEvent.vehicle_id == vehicle_id,
                                      in_scope(ServiceEvent.organisation_id, scope))
    return paginate(session, stmt, (ServiceEvent.occurred_on, ServiceEvent.id), limit, cursor)


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
    stored = len(session.scalars(insert.returning(Fueling.fueling_id), rows).all()) if rows else 0
    session.commit()
    return stored


def record_trip(session, data) -> OdometerReading | None:
    """A logged trip's end km as a driver_log reading; idempotent by trip id. A trip that
    contradicts the known readings is logged and skipped (the driver's log is theirs to fix)."""
    exists = session.scalars(select(OdometerReading.id).where(OdometerReading.source == "driver_log",
                                                              OdometerReading.source_ref == data["trip_id"])).first()
    if exists or session.get(Vehicle, data["vehicle_id"]) is None:
        return None
    try:
        return add_reading(session, data["vehicle_id"], {"km": data["odometer_end"], "read_on": data["date"],
                                                         "source": "driver_log"}, source_ref=data["trip_id"],
                           organisation_id=data.get("organisation_id"))
    except (exc.OdometerBackwards, IntegrityError):
        session.rollback()
        log.info("fleet.trip_reading_skipped", vehicle_id=data["vehicle_id"], trip_id=data["trip_id"])
        return None


# --- reports ------------------------------------------------------------------------

def contracts_ending(session, days, limit, cursor, scope, today=None):
    today = today or dt.date.today()
    stmt = (select(Contract).join(Contract.vehicle)
            .where(in_scope(Contract.customer_id, scope), Contract.status == "active",
                   Contract.ends_on >= today, Contract.ends_on <= today + dt.timedelta(days=days)))
    contracts, next_cursor = paginate(session, stmt, (Contract.ends_on, Contract.id), limit, cursor)
    rows = [{"contract_id": c.id, "vehicle_id": c.vehicle_id, "registration_number": c.vehicle.registration_number,
             "user_organisation_id": c.vehicle.user_organisation_id, "cost_center": c.vehicle.cost_center,
             "driver_person_id": c.vehicle.driver_person_id, "customer_id": c.customer_id,
             "contract_type": c.contract_type, "ends_on": c.ends_on, "days_left": (c.ends_on - today).days,
             "monthly_total": c.monthly_total} for c in contracts]
    return rows, next_cursor


def km_overrun(session, limit, cursor, scope, today=None):
    """Per active contract: km driven by the latest reading against included km pro rata to
    that date, and the projection to the end of the term at the same pace."""
    today = today or dt.date.today()
    stmt = (select(Contract).join(Contract.vehicle)
            .where(in_scope(Contract.customer_id, scope), Contract.status == "active"))
    contracts, next_cursor = paginate(session, stmt, (Contract.created_at, Contract.id), limit, cursor)
    readings = latest_readings(session, [c.vehicle_id for c in contracts], scope)
    return [_overrun_row(c, readings.get(c.vehicle_id)) for c in contracts], next_cursor


def _overrun_row(contract, reading) -> dict:
    row = {"contract_id": contract.id, "vehicle_id": contract.vehicle_id,
           "registration_number": contract.vehicle.registration_number,
           "user_organisation_id": contract.vehicle.user_organisation_id, "cost_center": contract.vehicle.cost_center,
           "starts_on": contract.starts_on, "ends_on": contract.ends_on, "included_km": contract.included_km,
           "start_km": contract.start_km, "latest_km": None, "latest_read_on": None, "driven_km": None,
           "allowed_km_to_date": None, "projected_km_at_end": None, "projected_overrun_km": None}
    if reading is None or reading.read_on <= contract.starts_on:
        return row
    term_days = (contract.ends_on - contract.starts_on).days + 1
    elapsed_days = min((reading.read_on - contract.starts_on).days, term_days)
    driven = reading.km - contract.start_km
    projected = round(Decimal(driven) * term_days / elapsed_days)
    row.update(latest_km=reading.km, latest_read_on=reading.read_on, driven_km=driven,
               allowed_km_to_date=round(Decimal(contract.included_km) * elapsed_days / term_days),
               projected_km_at_end=projected, projected_overrun_km=max(0, projected - contract.included_km))
    return row


def co2_by_cost_center(session, scope) -> list[dict]:
    """The fleet as it is now: vehicles by their current user organisation."""
    stmt = (select(Vehicle.user_organisation_id, Vehicle.cost_center, func.count(Vehicle.id),
                   func.coalesce(func.sum(Vehicle.co2_g_per_km), 0), func.avg(Vehicle.co2_g_per_km))
            .where(in_scope(Vehicle.user_organisation_id, scope),
                   Vehicle.status.not_in(("returned", "sold")))
            .group_by(Vehicle.user_organisation_id, Vehicle.cost_center)
            .order_by(Vehicle.user_organisation_id, Vehicle.cost_center))
    return [{"user_organisation_id": org, "cost_center": cost_center, "vehicle_count": count,
             "total_co2_g_per_km": int(total),
             "average_co2_g_per_km": None if average is None else Decimal(str(average)).quantize(Decimal("0.1"))}
            for org, cost_center, count, total, average in session.execute(stmt)]


def fuel_report(session, filters, limit, cursor, scope):
    """Litres and cost per vehicle in scope now, month and the organisation that used the
    vehicle then (a re-leased car's earlier fuelings are not its new user's); paged by
    vehicle so a page costs the same at any table size (the (vehicle_id, month) index).
    A former user reads its months of a car under /vehicles/{id}/fuelings."""
    vehicles_stmt = select(Vehicle).where(in_scope(Vehicle.user_organisation_id, scope))
    vehicles, next_cursor = paginate(session, vehicles_stmt, (Vehicle.created_at, Vehicle.id), limit, cursor)
    by_id = {vehicle.id: vehicle for vehicle in vehicles}
    stmt = (select(Fueling.vehicle_id, Fueling.organisation_id, Fueling.month, func.count(), func.sum(Fueling.liters),
                   func.coalesce(func.sum(Fueling.amount_eur), 0))
            .where(Fueling.vehicle_id.in_(by_id), in_scope(Fueling.organisation_id, scope))
            .group_by(Fueling.vehicle_id, Fueling.organisation_id, Fueling.month))
    if filters.get("from_month"):
        stmt = stmt.where(Fueling.month >= filters["from_month"])
    if filters.get("to_month"):
        stmt = stmt.where(Fueling.month <= filters["to_month"])
    order = {vehicle_id: index for index, vehicle_id in enumerate(by_id)}
    rows = []
    for vehicle_id, organisation_id, month, count, liters, amount in session.execute(stmt):
        vehicle = by_id[vehicle_id]
        # the cost center is the current user's: not shown to (or for) a former user
        cost_center = vehicle.cost_center if organisation_id == vehicle.user_organisation_id else None
        rows.append({"vehicle_id": vehicle_id, "registration_number": vehicle.registration_number,
                     "user_organisation_id": organisation_id, "cost_center": cost_center,
                     "month": month, "fuelings": count, "liters": Decimal(str(liters)),
                     "amount_eur": Decimal(str(amount))})
    rows.sort(key=lambda row: (order[row["vehicle_id"]], row["month"], row["user_organisation_id"] or ""))
    return rows, next_cursor


# --- personal-data lifecycle --------------------------------------------------------

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
    session.commit()
    retained = [{"data": f"contract {c.id} (customer's own leasing contract)",
                 "legal_basis": "Kirjanpitolaki 1336/1997 2:10 §: accounting records, 6 years from the end of the "
                                "year the contract ended",
                 "until": dt.date(c.ends_on.year + 6, 12, 31).isoformat(), "held_for": None} for c in contracts]
    retained += [{"data": "vehicle driver assignment and its history (processor data)",
                  "legal_basis": "Processor for the customer company (GDPR art. 28): removed on its instruction",
                  "until": None, "held_for": organisation_id} for organisation_id in held]
    anonymised = []
    if contracts:
        anonymised.append("free-text notes of the person's contracts")
    if fuelings:
        anonymised.append(f"link from {len(fuelings)} fuelings to the person")
    return {"anonymised": anonymised, "retained": retained}
