import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import IdColumn, UTCDateTime, new_id, new_metadata, utcnow
from shared.retention import RetentionLeaseMixin

DEFAULT_TERMS_DAYS = 14
MONEY = Numeric(12, 2)


class Base(DeclarativeBase):
    metadata = new_metadata()


class BillingProfile(Base):
    """How a customer (organisation or private person) is invoiced."""
    __tablename__ = "billing_profiles"

    customer_id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    method: Mapped[str] = mapped_column(String(10))
    e_invoice_address: Mapped[str | None] = mapped_column(String(40))
    operator: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    paper_contact: Mapped[str | None] = mapped_column(String(200))
    paper_address: Mapped[str | None] = mapped_column(String(500))
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_TERMS_DAYS)
    services: Mapped[list] = mapped_column(JSON, default=list)
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Invoice(Base):
    """One per customer and period: the unique pair makes the monthly run idempotent."""
    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("customer_id", "period"),
                      Index("ix_invoices_created", "created_at", "id"))

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    customer_id: Mapped[str] = mapped_column(IdColumn(), index=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    issue_date: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date] = mapped_column(Date)
    delivery_method: Mapped[str] = mapped_column(String(10))
    total: Mapped[Decimal] = mapped_column(MONEY)
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    lines: Mapped[list["InvoiceLine"]] = relationship(order_by="InvoiceLine.registration_number",
                                                      lazy="selectin", cascade="all, delete-orphan")


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (UniqueConstraint("invoice_id", "contract_id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"))
    contract_id: Mapped[str] = mapped_column(IdColumn())
    vehicle_id: Mapped[str] = mapped_column(IdColumn())
    registration_number: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(String(300))
    lease_rent: Mapped[Decimal] = mapped_column(MONEY)
    maintenance_budget: Mapped[Decimal] = mapped_column(MONEY)
    account_fee: Mapped[Decimal] = mapped_column(MONEY)
    amount: Mapped[Decimal] = mapped_column(MONEY)


class RetentionLease(RetentionLeaseMixin, Base):
    """Who applies the retention schedule now (shared.retention)."""
