"""Fleet Manager dashboard, usage and cost reports (scoped like every fleet read: contracts
by their customer, vehicles by their user organisation)."""
import calendar
import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from shared.db import in_scope, paginate

from services.fleet.handlers import odometer
from services.fleet.models import Contract, Fueling, OdometerReading, Vehicle

COST_STATUSES = ("active", "ended", "terminated")


def vehicles_by_status(session, scope) -> list[dict]:
    stmt = (select(Vehicle.status, func.count(Vehicle.id))
            .where(in_scope(Vehicle.user_organisation_id, scope))
            .group_by(Vehicle.status).order_by(Vehicle.status))
    return [{"status": status, "vehicle_count": count} for status, count in session.execute(stmt)]


def fuel_by_month(session, from_month, to_month, scope) -> list[dict]:
    stmt = (select(Fueling.month, func.count(), func.sum(Fueling.liters), func.coalesce(func.sum(Fueling.amount_eur), 0))
            .where(in_scope(Fueling.organisation_id, scope),
                   Fueling.month >= from_month, Fueling.month <= to_month)
            .group_by(Fueling.month).order_by(Fueling.month))
    return [{"month": month, "fuelings": count, "liters": Decimal(str(liters)), "amount_eur": Decimal(str(amount))}
            for month, count, liters, amount in session.execute(stmt)]


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
    readings = odometer.latest_readings(session, [c.vehicle_id for c in contracts], scope)
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


# --- cost per km ------------------------------------------------------------------------

def month_bounds(from_month: str, to_month: str) -> tuple[dt.date, dt.date]:
    first = dt.date.fromisoformat(from_month + "-01")
    year, month = map(int, to_month.split("-"))
    return first, dt.date(year, month, calendar.monthrange(year, month)[1])


def _months_between(start: dt.date, end: dt.date) -> int:
    """Calendar months touched by [start, end]; 0 if empty."""
    return 0 if end < start else (end.year - start.year) * 12 + end.month - start.month + 1


def _contracts_in(period_start, period_end, scope):
    return (select(Contract).where(in_scope(Contract.customer_id, scope),
                                   Contract.status.in_(COST_STATUSES),
                                   Contract.starts_on <= period_end, Contract.ends_on >= period_start))


def cost_per_km(session, from_month, to_month, limit, cursor, scope):
    """Per contract (one vehicle each) in the period: lease (rent + account fee) and
    maintenance for the months it ran, partner fuel in those months, km driven by the
    odometer, and the cost of one km."""
    period_start, period_end = month_bounds(from_month, to_month)
    contracts, next_cursor = paginate(session, _contracts_in(period_start, period_end, scope),
                                      (Contract.created_at, Contract.id), limit, cursor)
    return _cost_rows(session, contracts, period_start, period_end), next_cursor


def cost_per_km_by_cost_center(session, from_month, to_month, scope) -> list[dict]:
    period_start, period_end = month_bounds(from_month, to_month)
    contracts = session.scalars(_contracts_in(period_start, period_end, scope)).all()
    totals: dict[tuple, dict] = {}
    for row in _cost_rows(session, contracts, period_start, period_end):
        key = (row["customer_id"], row["cost_center"])
        total = totals.setdefault(key, {"customer_id": key[0], "cost_center": key[1], "vehicle_count": 0,
                                        "lease_eur": Decimal(0), "maintenance_eur": Decimal(0),
                                        "fuel_eur": Decimal(0), "total_eur": Decimal(0), "driven_km": 0})
        total["vehicle_count"] += 1
        for name in ("lease_eur", "maintenance_eur", "fuel_eur", "total_eur"):
            total[name] += row[name]
        total["driven_km"] += row["driven_km"] or 0
    for total in totals.values():
        total["cost_per_km"] = _per_km(total["total_eur"], total["driven_km"])
    return sorted(totals.values(), key=lambda t: (t["customer_id"], t["cost_center"] or ""))


def _cost_rows(session, contracts, period_start, period_end) -> list[dict]:
    vehicle_ids = [c.vehicle_id for c in contracts]
    fuel = _fuel_by_vehicle_month(session, vehicle_ids, period_start, period_end)
    readings = _readings(session, vehicle_ids, period_end)
    rows = []
    for contract in contracts:
        start, end = max(contract.starts_on, period_start), min(contract.ends_on, period_end)
        months = _months_between(start, end)
        lease = (contract.lease_rent + contract.account_fee) * months
        maintenance = contract.maintenance_budget * months
        fuel_eur = sum((amount for (vehicle_id, organisation_id, month), amount in fuel.items()
                        if vehicle_id == contract.vehicle_id and organisation_id == contract.customer_id
                        and f"{start:%Y-%m}" <= month <= f"{end:%Y-%m}"), Decimal(0))
        driven = _driven_km(readings.get(contract.vehicle_id, []), contract, start, end)
        total = lease + maintenance + fuel_eur
        rows.append({"contract_id": contract.id, "vehicle_id": contract.vehicle_id,
                     "registration_number": contract.vehicle.registration_number,
                     "customer_id": contract.customer_id, "cost_center": contract.vehicle.cost_center,
                     "months": months, "lease_eur": lease, "maintenance_eur": maintenance, "fuel_eur": fuel_eur,
                     "total_eur": total, "driven_km": driven, "cost_per_km": _per_km(total, driven)})
    return rows


def _per_km(total, km):
    return (total / km).quantize(Decimal("0.01")) if km else None


def _fuel_by_vehicle_month(session, vehicle_ids, period_start, period_end) -> dict:
    """(vehicle, customer, month) -> fuel cost: a re-leased car's fuel counts for whoever used it then."""
    stmt = (select(Fueling.vehicle_id, Fueling.organisation_id, Fueling.month,
                   func.coalesce(func.sum(Fueling.amount_eur), 0))
            .where(Fueling.vehicle_id.in_(vehicle_ids),
                   Fueling.month >= f"{period_start:%Y-%m}", Fueling.month <= f"{period_end:%Y-%m}")
            .group_by(Fueling.vehicle_id, Fueling.organisation_id, Fueling.month))
    return {(vehicle_id, organisation_id, month): Decimal(str(amount))
            for vehicle_id, organisation_id, month, amount in session.execute(stmt)}


def _readings(session, vehicle_ids, until) -> dict[str, list]:
    by_vehicle: dict[str, list] = {}
    stmt = (select(OdometerReading.vehicle_id, OdometerReading.read_on, OdometerReading.km)
            .where(OdometerReading.vehicle_id.in_(vehicle_ids), OdometerReading.read_on <= until)
            .order_by(OdometerReading.read_on, OdometerReading.km))
    for vehicle_id, read_on, km in session.execute(stmt):
        by_vehicle.setdefault(vehicle_id, []).append((read_on, km))
    return by_vehicle


def _driven_km(readings, contract, start, end) -> int | None:
    """Km between the reading at the window's start (or the contract's start km, when
    the contract begins in the window) and the last reading in the window."""
    before = [km for read_on, km in readings if read_on <= start]
    within = [km for read_on, km in readings if start < read_on <= end]
    first = max(before) if before else (contract.start_km if contract.starts_on >= start else None)
    if first is None or not within:
        return None
    return max(0, max(within) - first)
