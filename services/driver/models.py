import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, Date, Float, Integer, Numeric, String, TypeDecorator, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import IdColumn, UTCDateTime, new_id, new_metadata, utcnow
from shared.retention import RetentionLeaseMixin


class LocalDateTime(TypeDecorator):
    """An aware datetime kept with the offset it was given (ISO-8601 text): the driving log
    shows the local time the driver entered, whatever the backend's time zone handling."""
    impl = String(32)
    cache_ok = True

    @property
    def python_type(self):
        return dt.datetime

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; give its UTC offset")
        return value.isoformat()

    def process_result_value(self, value, dialect):
        return None if value is None else dt.datetime.fromisoformat(value)


class Base(DeclarativeBase):
    metadata = new_metadata()


class DriverProfile(Base):
    """Read model of a person, kept from identity events."""
    __tablename__ = "driver_profiles"

    person_id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Vehicle(Base):
    """Read model of a vehicle and its current contract, kept from fleet events."""
    __tablename__ = "vehicles"

    vehicle_id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    registration_number: Mapped[str | None] = mapped_column(String(10), index=True)
    driver_person_id: Mapped[str | None] = mapped_column(IdColumn(), index=True)
    user_organisation_id: Mapped[str | None] = mapped_column(IdColumn())
    make: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(100))
    contract_id: Mapped[str | None] = mapped_column(IdColumn())
    contract_status: Mapped[str | None] = mapped_column(String(30))
    contract_type: Mapped[str | None] = mapped_column(String(100))
    contract_starts_on: Mapped[dt.date | None] = mapped_column(Date())
    contract_ends_on: Mapped[dt.date | None] = mapped_column(Date())
    contract_length_months: Mapped[int | None] = mapped_column(Integer())
    add_on_services: Mapped[list] = mapped_column(JSON(), default=list)
    included_km: Mapped[int | None] = mapped_column(Integer())
    start_km: Mapped[int | None] = mapped_column(Integer())
    tire_storage: Mapped[str | None] = mapped_column(String(200))
    tire_storage_updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Trip(Base):
    """One driving log entry (Finnish tax administration's ajopäiväkirja)."""
    __tablename__ = "trips"
    __table_args__ = (UniqueConstraint("person_id", "client_id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    vehicle_id: Mapped[str] = mapped_column(IdColumn(), index=True)
    person_id: Mapped[str | None] = mapped_column(IdColumn(), index=True)
    organisation_id: Mapped[str | None] = mapped_column(IdColumn())  # the vehicle's user organisation then
    date: Mapped[dt.date] = mapped_column(Date())
    started_at: Mapped[dt.datetime | None] = mapped_column(LocalDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(LocalDateTime())
    odometer_start: Mapped[int] = mapped_column(Integer())
    odometer_end: Mapped[int] = mapped_column(Integer())
    km: Mapped[int] = mapped_column(Integer())
    trip_type: Mapped[str] = mapped_column(String(10))
    start_point: Mapped[str] = mapped_column(String(200))
    end_point: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str | None] = mapped_column(String(500))
    gap_explanation: Mapped[str | None] = mapped_column(String(500))
    added_by: Mapped[str | None] = mapped_column(IdColumn())
    added_by_name: Mapped[str | None] = mapped_column(String(201))
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # the client's idempotency key: an entry sent again (offline queue) is stored once
    client_id: Mapped[str | None] = mapped_column(String(36))


class WashBooking(Base):
    __tablename__ = "wash_bookings"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    person_id: Mapped[str | None] = mapped_column(IdColumn(), index=True)
    vehicle_id: Mapped[str] = mapped_column(IdColumn())
    registration_number: Mapped[str] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(20))
    wash_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    wash: Mapped[str] = mapped_column(String(100))
    place: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class LocationConsent(Base):
    """The latest location_tracking consent per person, from marketing events."""
    __tablename__ = "location_consents"

    person_id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class LocationPing(Base):
    __tablename__ = "location_pings"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(IdColumn(), index=True)
    lat: Mapped[float] = mapped_column(Float())
    lon: Mapped[float] = mapped_column(Float())
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Fueling(Base):
    """A partner fueling event, stored once per event_id; person/vehicle may be matched later."""
    __tablename__ = "fuelings"
    __table_args__ = (UniqueConstraint("event_id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    event_id: Mapped[str] = mapped_column(String(36))
    partner: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    registration_number: Mapped[str] = mapped_column(String(10), index=True)
    product: Mapped[str] = mapped_column(String(100))
    company: Mapped[str] = mapped_column(String(100))
    municipality: Mapped[str] = mapped_column(String(100))
    station: Mapped[str] = mapped_column(String(200))
    liters: Mapped[Decimal] = mapped_column(Numeric(10, 3))
    amount_eur: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    fueled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    person_id: Mapped[str | None] = mapped_column(IdColumn(), index=True)
    vehicle_id: Mapped[str | None] = mapped_column(IdColumn(), index=True)
    organisation_id: Mapped[str | None] = mapped_column(IdColumn())  # the vehicle's user organisation when matched
    matched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class RetentionLease(RetentionLeaseMixin, Base):
    """Who applies the retention schedule now (shared.retention)."""


__all__ = ["Base", "DriverProfile", "Vehicle", "Trip", "WashBooking", "LocationConsent", "LocationPing",
           "Fueling", "RetentionLease"]
