import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import IdColumn, UTCDateTime, new_id, new_metadata, utcnow
from shared.retention import RetentionLeaseMixin

OPEN_CONTRACT_STATUSES = ("ordered", "awaiting_delivery", "active")
# contract state machine: status -> statuses it may move to
TRANSITIONS = {
    "ordered": {"awaiting_delivery", "terminated"},
    "awaiting_delivery": {"active", "terminated"},
    "active": {"ended", "terminated"},
    "ended": set(),
    "terminated": set(),
}
# what a contract status means for its vehicle
VEHICLE_STATUS_OF = {"ordered": "ordered", "awaiting_delivery": "awaiting_delivery", "active": "in_use",
                     "ended": "returned", "terminated": "returned"}
MONEY = Numeric(12, 2)


class Base(DeclarativeBase):
    metadata = new_metadata()


class Vehicle(Base):
    """Processed on behalf of the customer company (user_organisation_id), SPEC §3."""
    __tablename__ = "vehicles"
    __table_args__ = (Index("ix_vehicles_created", "created_at", "id"),
                      Index("ix_vehicles_org_created", "user_organisation_id", "created_at", "id"),
                      Index("ix_vehicles_cost_center_created", "cost_center", "created_at", "id"),
                      Index("ix_vehicles_status_created", "status", "created_at", "id"))

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    registration_number: Mapped[str] = mapped_column(String(10), unique=True)
    vin: Mapped[str] = mapped_column(String(17))
    make: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(100))
    first_registration_date: Mapped[dt.date | None] = mapped_column(Date)
    vehicle_class: Mapped[str] = mapped_column(String(20))
    power_source: Mapped[str] = mapped_column(String(20))
    co2_g_per_km: Mapped[int | None] = mapped_column(Integer)
    registration_certificate: Mapped[str | None] = mapped_column(String(200))
    user_organisation_id: Mapped[str] = mapped_column(IdColumn())
    cost_center: Mapped[str | None] = mapped_column(String(100))
    driver_person_id: Mapped[str | None] = mapped_column(IdColumn(), index=True)
    status: Mapped[str] = mapped_column(String(20), default="in_use")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class VehicleAssignment(Base):
    """History of who drove the vehicle, for which organisation and cost center."""
    __tablename__ = "vehicle_assignments"
    __table_args__ = (Index("ix_vehicle_assignments_vehicle", "vehicle_id", "changed_at", "id"),
                      Index("ix_vehicle_assignments_organisation", "user_organisation_id", "vehicle_id"))

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    vehicle_id: Mapped[str] = mapped_column(ForeignKey("vehicles.id"))
    driver_person_id: Mapped[str | None] = mapped_column(IdColumn(), index=True)
    user_organisation_id: Mapped[str] = mapped_column(IdColumn())
    cost_center: Mapped[str | None] = mapped_column(String(100))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    changed_by: Mapped[str | None] = mapped_column(IdColumn())


class Contract(Base):
    __tablename__ = "contracts"
    __table_args__ = (Index("ix_contracts_created", "created_at", "id"),
                      Index("ix_contracts_customer_created", "customer_id", "created_at", "id"),
                      Index("ix_contracts_status_ends", "status", "ends_on", "id"))

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    vehicle_id: Mapped[str] = mapped_column(ForeignKey("vehicles.id"), index=True)
    customer_id: Mapped[str] = mapped_column(IdColumn(), index=True)
    contract_type: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="ordered")
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    length_months: Mapped[int] = mapped_column(Integer)
    residual_value: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    lease_rent: Mapped[Decimal] = mapped_column(MONEY)
    maintenance_budget: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    account_fee: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    included_km: Mapped[int] = mapped_column(Integer)
    start_km: Mapped[int] = mapped_column(Integer, default=0)
    replacement_car: Mapped[bool] = mapped_column(Boolean, default=False)
    replacement_car_class: Mapped[str | None] = mapped_column(String(50))
    financing_company: Mapped[str | None] = mapped_column(String(200))
    insurance_company: Mapped[str | None] = mapped_column(String(200))
    insurance_deductible: Mapped[Decimal | None] = mapped_column(MONEY)
    notes: Mapped[str | None] = mapped_column(Text)
    add_on_services: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    vehicle: Mapped[Vehicle] = relationship(lazy="joined", innerjoin=True)

    @property
    def next_statuses(self) -> list[str]:
        return sorted(TRANSITIONS[self.status])

    def place(self, vehicle: "Vehicle") -> None:
        """A new contract: it starts as ordered (or awaiting delivery) and so does its vehicle."""
        self.status = self.status or "ordered"
        self.vehicle = vehicle
        vehicle.status = VEHICLE_STATUS_OF[self.status]

    def move_to(self, status: str) -> None:
        """The contract state machine (TRANSITIONS); the vehicle's status follows. Staying
        in the same status is no move; a move it does not allow raises ValueError."""
        if status == self.status:
            return
        if status not in TRANSITIONS[self.status]:
            raise ValueError(f"{self.status} -> {status}")
        self.status = status
        self.vehicle.status = VEHICLE_STATUS_OF[status]

    @property
    def monthly_total(self) -> Decimal:
        return self.lease_rent + self.maintenance_budget + self.account_fee

    @property
    def remaining_months(self) -> int:
        return remaining_months(self, dt.date.today())


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole months from start to end (negative when end is earlier)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - 1 if months > 0 and end.day < start.day else months


def remaining_months(contract, today: dt.date) -> int:
    if contract.status in ("ended", "terminated"):
        return 0
    if today < contract.starts_on:
        return contract.length_months
    return max(0, min(contract.length_months, months_between(today, contract.ends_on + dt.timedelta(days=1))))


class Dealership(Base):
    __tablename__ = "dealerships"
    __table_args__ = (Index("ix_dealerships_created", "created_at", "id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    street_address: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(5))
    city: Mapped[str | None] = mapped_column(String(100))
    seller_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Delivery(Base):
    """A car awaiting delivery: the order and its (estimated or confirmed) delivery date."""
    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_created", "created_at", "id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    vehicle_id: Mapped[str] = mapped_column(ForeignKey("vehicles.id"), index=True)
    contract_id: Mapped[str | None] = mapped_column(ForeignKey("contracts.id"))
    dealership_id: Mapped[str | None] = mapped_column(ForeignKey("dealerships.id"))
    order_number: Mapped[str | None] = mapped_column(String(100))
    order_info: Mapped[str | None] = mapped_column(Text)
    ordered_on: Mapped[dt.date | None] = mapped_column(Date)
    estimated_delivery_on: Mapped[dt.date | None] = mapped_column(Date)
    confirmed_delivery_on: Mapped[dt.date | None] = mapped_column(Date)
    delivered_on: Mapped[dt.date | None] = mapped_column(Date)
    organisation_id: Mapped[str | None] = mapped_column(IdColumn())  # the vehicle's user organisation then
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    vehicle: Mapped[Vehicle] = relationship(lazy="joined", innerjoin=True)


class OdometerReading(Base):
    __tablename__ = "odometer_readings"
    __table_args__ = (Index("ix_odometer_vehicle_read", "vehicle_id", "read_on", "km"),
                      UniqueConstraint("source", "source_ref"))

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    vehicle_id: Mapped[str] = mapped_column(ForeignKey("vehicles.id"))
    km: Mapped[int] = mapped_column(Integer)
    read_on: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(20))
    source_ref: Mapped[str | None] = mapped_column(String(64))
    organisation_id: Mapped[str | None] = mapped_column(IdColumn())  # the vehicle's user organisation then
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ServiceEvent(Base):
    __tablename__ = "service_events"
    __table_args__ = (Index("ix_service_events_vehicle", "vehicle_id", "occurred_on", "id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    vehicle_id: Mapped[str] = mapped_column(ForeignKey("vehicles.id"))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))
    place_name: Mapped[str | None] = mapped_column(String(200))
    km: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    organisation_id: Mapped[str | None] = mapped_column(IdColumn())  # the vehicle's user organisation then
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Fueling(Base):
    """Usage from driver.fueling_recorded, stored once per fueling_id; `month` (YYYY-MM)
    keeps the fuel report an index range on every backend."""
    __tablename__ = "fuelings"
    __table_args__ = (Index("ix_fuelings_vehicle_month", "vehicle_id", "month"),
                      Index("ix_fuelings_organisation_vehicle", "organisation_id", "vehicle_id"))

    fueling_id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    event_id: Mapped[str | None] = mapped_column(IdColumn())
    vehicle_id: Mapped[str] = mapped_column(IdColumn())
    person_id: Mapped[str | None] = mapped_column(IdColumn(), index=True)
    organisation_id: Mapped[str | None] = mapped_column(IdColumn())  # the vehicle's user organisation then
    product: Mapped[str | None] = mapped_column(String(100))
    company: Mapped[str | None] = mapped_column(String(100))
    municipality: Mapped[str | None] = mapped_column(String(100))
    station: Mapped[str | None] = mapped_column(String(200))
    liters: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    amount_eur: Mapped[Decimal | None] = mapped_column(MONEY)
    fueled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    month: Mapped[str] = mapped_column(String(7))


class FleetSettings(Base):
    """Per customer company: how many days before a contract ends its fleet managers are
    reminded (the dashboard's lead time)."""
    __tablename__ = "fleet_settings"

    organisation_id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    contract_reminder_days: Mapped[int] = mapped_column(Integer, default=90)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class RetentionLease(RetentionLeaseMixin, Base):
    """Who applies the retention schedule now (shared.retention)."""
