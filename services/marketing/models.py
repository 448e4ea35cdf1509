import datetime as dt

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import IdColumn, UTCDateTime, new_id, new_metadata, utcnow
from shared.retention import RetentionLeaseMixin

from services.marketing.schemas import CHANNEL_PURPOSE, PURPOSES, STATUSES


class Base(DeclarativeBase):
    metadata = new_metadata()


class ConsentRecord(Base):
    """Append-only history: every change with its proof. Never updated; a withdrawn consent's history is
    deleted when its retention period ends (services/marketing/retention.py)."""
    __tablename__ = "consent_records"
    __table_args__ = (Index("ix_consent_records_person_purpose", "person_id", "purpose", "at"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(IdColumn())
    purpose: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str | None] = mapped_column(String(50))
    text_version: Mapped[str | None] = mapped_column(String(50))
    by_person: Mapped[bool] = mapped_column(default=False)
    actor_account_id: Mapped[str | None] = mapped_column(IdColumn())
    actor_role: Mapped[str | None] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Consent(Base):
    """The current status per person and purpose (the latest record)."""
    __tablename__ = "consents"

    person_id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(30), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    source: Mapped[str] = mapped_column(String(100))
    by_person: Mapped[bool] = mapped_column(default=False)
    record_id: Mapped[str] = mapped_column(ForeignKey("consent_records.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Contact(Base):
    """Read model of an identity person for marketing, plus profiling attributes."""
    __tablename__ = "contacts"

    person_id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    position: Mapped[str | None] = mapped_column(String(100))
    company: Mapped[str | None] = mapped_column(String(200))
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class MarketingEvent(Base):
    __tablename__ = "marketing_events"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    place: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Attendance(Base):
    __tablename__ = "attendances"
    __table_args__ = (UniqueConstraint("event_id", "person_id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    event_id: Mapped[str] = mapped_column(ForeignKey("marketing_events.id"), index=True)
    person_id: Mapped[str] = mapped_column(IdColumn(), index=True)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RetentionLease(RetentionLeaseMixin, Base):
    """Who applies the retention schedule now (shared.retention)."""


__all__ = ["Base", "ConsentRecord", "Consent", "Contact", "MarketingEvent", "Attendance", "PURPOSES", "STATUSES",
           "CHANNEL_PURPOSE", "RetentionLease"]
