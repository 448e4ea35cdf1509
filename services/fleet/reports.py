"""Fleet Manager dashboard and cost reports (scoped like every fleet read: contracts by
their customer, vehicles by their user organisation)."""
import calendar
import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from shared.db import in_scope, paginate, visible
from shared.errors import NotFound

from services.fleet.models import Contract, Fueling, FleetSettings, OdometerReading, Vehicle

COST_STATUSES = ("active", "ended", "terminated")
DEFAULT_REMINDER_DAYS = 90


def vehicles_by_status(session, organisation_ids=None) -> list[dict]:
    stmt = (select(Vehicle.status, func.count(Vehicle.id))
            .where(in_scope(Vehicle.user_organisation_id, organisation_ids))
            .group_by(Vehicle.status).order_by(Vehicle.status))
    return [{"status": status, "vehicle_count": count} for status, count in session.execute(stmt)]


def fuel_by_month(session, from_month, to_month, organisation_ids=None) -> list[dict]:
    stmt = (select(Fueling.month, func.count(), func.sum(Fueling.liters), func.coalesce(func.sum(Fueling.amount_eur), 0))
            .join(Vehicle, Vehicle.id == Fueling.vehicle_id)
            .where(in_scope(Vehicle.user_organisation_id, organisation_ids),
                   Fueling.month >= from_month, Fueling.month <= to_month)
            .group_by(Fueling.month).order_by(Fueling.month))
    return [{"month": month, "fuelings": count, "liters": Decimal(str(liters)), "amount_eur": Decimal(str(amount))}
            for month, count, liters, amount in session.execute(stmt)]


# --- cost per km ------------------------------------------------------------------------

def month_bounds(from_month: str, to_month: str) -> tuple[dt.date, dt.date]:
    first = dt.date.fromisoformat(from_month + "-01")
    year, month = map(int, to_month.split("-"))
    return first, dt.date(year, month, calendar.monthrange(year, month)[1])


def _months_between(start: dt.date, end: dt.date) -> int:
    """Calendar months touched by [start, end]; 0 if empty."""
    return 0 if end < start else (end.year - start.year) * 12 + end.month - start.month + 1


def _contracts_in(period_start, period_end, organisation_ids):
    return (select(Contract).where(in_scope(Contract.customer_id, organisation_ids),
                                   Contract.status.in_(COST_STATUSES),
                                   Contract.starts_on <= period_end, Contract.ends_on >= period_start))


def cost_per_km(session, from_month, to_month, limit, cursor, organisation_ids=None):
    """Per contract (one vehicle each) in the period: lease (rent + account fee) and
    maintenance for the months it ran, partner fuel in those months, km driven by the
    odometer, and the cost of one km."""
    period_start, period_end = month_bounds(from_month, to_month)
    contracts, next_cursor = paginate(session, _contracts_in(period_start, period_end, organisation_ids),
                                      (Contract.created_at, Contract.id), limit, cursor)
    return _cost_rows(session, contracts, period_start, period_end), next_cursor


def cost_per_km_by_cost_center(session, from_month, to_month, organisation_ids=None) -> list[dict]:
    period_start, period_end = month_bounds(from_month, to_month)
    contracts = session.scalars(_contracts_in(period_start, period_end, organisation_ids)).all()
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
        fuel_eur = sum((amount for (vehicle_id, month), amount in fuel.items()
                        if vehicle_id == contract.vehicle_id and f"{start:%Y-%m}" <= month <= f"{end:%Y-%m}"),
                       Decimal(0))
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
    stmt = (select(Fueling.vehicle_id, Fueling.month, func.coalesce(func.sum(Fueling.amount_eur), 0))
            .where(Fueling.vehicle_id.in_(vehicle_ids),
                   Fueling.month >= f"{period_start:%Y-%m}", Fueling.month <= f"{period_end:%Y-%m}")
            .group_by(Fueling.vehicle_id, Fueling.month))
    return {(vehicle_id, month): Decimal(str(amount)) for vehicle_id, month, amount in session.execute(stmt)}


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


# --- per-company settings -----------------------------------------------------------------

def _require_visible(organisation_id, organisation_ids):
    if not visible(organisation_id, organisation_ids):
        raise NotFound("Organisation not found")


def get_settings(session, organisation_id, organisation_ids=None) -> dict:
    _require_visible(organisation_id, organisation_ids)
    settings = session.get(FleetSettings, organisation_id)
    days = settings.contract_reminder_days if settings else DEFAULT_REMINDER_DAYS
    return {"organisation_id": organisation_id, "contract_reminder_days": days}


def put_settings(session, organisation_id, data, organisation_ids=None) -> dict:
    _require_visible(organisation_id, organisation_ids)
    settings = session.get(FleetSettings, organisation_id) or FleetSettings(organisation_id=organisation_id)
    settings.contract_reminder_days = data["contract_reminder_days"]
    session.add(settings)
    session.commit()
    return get_settings(session, organisation_id, organisation_ids)
