import datetime as dt

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import IdColumn, UTCDateTime, new_id, new_metadata, utcnow
from shared.retention import RetentionLeaseMixin

from services.identity.schemas import RELATIONSHIP_TRANSITIONS


class Base(DeclarativeBase):
    metadata = new_metadata()


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    business_id: Mapped[str] = mapped_column(String(9), unique=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    street_address: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(5))
    city: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Person(Base):
    """national_id is stored only encrypted (Fernet, SECTO_DATA_KEYS) plus a keyed blind index."""
    __tablename__ = "persons"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    street_address: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(5))
    city: Mapped[str | None] = mapped_column(String(100))
    national_id_encrypted: Mapped[str | None] = mapped_column(Text)
    national_id_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    national_id_masked: Mapped[str | None] = mapped_column(String(11))
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[str | None] = mapped_column(ForeignKey("persons.id"), index=True)
    organisation_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    scope: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # who deactivated it: a fleet manager may reactivate only the accounts it deactivated
    deactivated_by: Mapped[str | None] = mapped_column(IdColumn())
    # bumped on deactivation / password change: older tokens stop working at once
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class LoginFailure(Base):
    """Failed logins per (username, client): kept for usernames that do not exist too, so a
    lockout reveals nothing, and per client, so nobody locks an account out from elsewhere."""
    __tablename__ = "login_failures"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class PersonRole(Base):
    """contact (of a customer company) / representative (of a prospect), with position;
    car_user / decision_maker of a vehicle, with its registration number."""
    __tablename__ = "person_roles"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    organisation_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    position: Mapped[str | None] = mapped_column(String(100))
    registration_number: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class CustomerRelationship(Base):
    __tablename__ = "customer_relationships"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    party_type: Mapped[str] = mapped_column(String(12))  # person | organisation
    party_id: Mapped[str] = mapped_column(IdColumn(), index=True)
    customer_type: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="prospect")
    contract_types: Mapped[list] = mapped_column(JSON, default=list)
    started_on: Mapped[dt.date | None] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    external_user_ids: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def next_statuses(self) -> list[str]:
        return sorted(RELATIONSHIP_TRANSITIONS[self.status])

    def move_to(self, status: str, today: dt.date) -> None:
        if status not in RELATIONSHIP_TRANSITIONS[self.status]:
            raise ValueError(f"{self.status} -> {status}")
        self.status = status
        if status == "customer" and self.started_on is None:
            self.started_on = today
        if status == "former" and self.ended_on is None:
            self.ended_on = today


class ServiceOrder(Base):
    __tablename__ = "service_orders"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    relationship_id: Mapped[str] = mapped_column(ForeignKey("customer_relationships.id"), index=True)
    what: Mapped[str] = mapped_column(String(200))
    ordered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    content: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class SatisfactionResponse(Base):
    __tablename__ = "satisfaction_responses"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    relationship_id: Mapped[str] = mapped_column(ForeignKey("customer_relationships.id"), index=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    responded_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class AccessAudit(Base):
    """Who read whose personal data, through which endpoint, when (SPEC §3)."""
    __tablename__ = "access_audit"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(IdColumn(), index=True)
    actor_account_id: Mapped[str | None] = mapped_column(IdColumn())
    actor_role: Mapped[str | None] = mapped_column(String(20))
    what: Mapped[str] = mapped_column(String(100))
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class WebUsage(Base):
    """Web-service usage data (verkkopalvelun käyttötiedot), kept 90 days."""
    __tablename__ = "web_usage"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    account_id: Mapped[str | None] = mapped_column(IdColumn(), index=True)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    browser: Mapped[str | None] = mapped_column(String(100))
    os: Mapped[str | None] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    status: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class RetentionLease(RetentionLeaseMixin, Base):
    """Who applies the retention schedule now (shared.retention)."""
