import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import IdColumn, UTCDateTime, new_id, new_metadata, utcnow
from shared.retention import RetentionLeaseMixin

CASE_STATUSES = ("pending", "verified", "rejected", "expired")
TRANSITIONS = {"pending": {"verified", "rejected"}, "verified": {"expired"}, "rejected": set(), "expired": set()}
DOCUMENT_TYPES = ("passport", "id_card", "driving_licence", "residence_permit")
PARTY_KINDS = ("beneficial_owner", "pep")


class Base(DeclarativeBase):
    metadata = new_metadata()


class _IdentifyingData:
    """The identifying data a case, a beneficial owner and a PEP share; national id and
    document number only encrypted (+ a blind index for the national id)."""
    national_id_encrypted: Mapped[str | None] = mapped_column(Text)
    national_id_index: Mapped[str | None] = mapped_column(String(64), index=True)
    national_id_masked: Mapped[str | None] = mapped_column(String(11))
    document_type: Mapped[str | None] = mapped_column(String(20))
    document_number_encrypted: Mapped[str | None] = mapped_column(Text)
    document_number_masked: Mapped[str | None] = mapped_column(String(40))
    document_country: Mapped[str | None] = mapped_column(String(2))
    document_expires_on: Mapped[dt.date | None] = mapped_column(Date)


class KycCase(_IdentifyingData, Base):
    __tablename__ = "kyc_cases"
    __table_args__ = (Index("ix_kyc_cases_created", "created_at", "id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(IdColumn(), index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    notes: Mapped[str | None] = mapped_column(Text)
    file_content_type: Mapped[str | None] = mapped_column(String(50))
    file_size: Mapped[int | None] = mapped_column(Integer)
    file_name: Mapped[str | None] = mapped_column(String(64))
    verified_by: Mapped[str | None] = mapped_column(IdColumn())
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    relationship_ended_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    parties: Mapped[list["KycParty"]] = relationship(order_by="KycParty.created_at", lazy="selectin")

    # the state machine: pending -> verified | rejected, verified -> expired (TRANSITIONS)
    @property
    def next_statuses(self) -> list[str]:
        return sorted(TRANSITIONS[self.status])

    def verification_problems(self, today: dt.date) -> dict | None:
        """What keeps the case from being verified: a missing or expired document."""
        missing = [field for field in ("document_type", "document_number_encrypted", "document_country",
                                       "document_expires_on") if getattr(self, field) is None]
        expired = not missing and self.document_expires_on < today
        if not (missing or expired):
            return None
        return {"missing": [field.replace("_encrypted", "") for field in missing], "expired": expired}

    def move_to(self, status: str, actor_id: str | None = None, today: dt.date | None = None) -> None:
        """Raises ValueError for a transition TRANSITIONS does not allow, or verifying a case
        with verification_problems."""
        if status not in TRANSITIONS[self.status]:
            raise ValueError(f"{self.status} -> {status}")
        if status == "verified":
            if self.verification_problems(today or dt.date.today()):
                raise ValueError("not verifiable")
            self.verified_by, self.verified_at = actor_id, utcnow()
        self.status = status

    def back_to_pending(self) -> None:
        """What was verified is no longer what is stored (identifying data or file changed)."""
        self.status, self.verified_by, self.verified_at = "pending", None, None


class KycParty(_IdentifyingData, Base):
    """A beneficial owner (> 25 %) or a politically exposed person linked to the case's company."""
    __tablename__ = "kyc_parties"
    __table_args__ = (Index("ix_kyc_parties_case", "case_id", "kind", "created_at", "id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("kyc_cases.id"))
    kind: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[str | None] = mapped_column(IdColumn(), index=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    nationality: Mapped[str | None] = mapped_column(String(2))
    ownership_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    pep_position: Mapped[str | None] = mapped_column(String(200))
    relation: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RetentionLease(RetentionLeaseMixin, Base):
    """Who applies the retention schedule now (shared.retention)."""
