"""KYC's part of the retention schedule: customer due diligence data is kept 5 years after
the customer relationship ends (identity tells us when, by event), then deleted with its
document file, beneficial owners and PEPs."""
from sqlalchemy import delete, select, update

from shared.retention import Rule, keys_after

from services.kyc import handlers
from services.kyc.models import KycCase, KycParty

SERVICE = "kyc"


def apply_relationship(session, data) -> int:
    """Every case of the party gets the date its customer relationship ended (None: ongoing again)."""
    result = session.execute(update(KycCase).where(KycCase.customer_id == data["party_id"])
                             .values(relationship_ended_on=data["ended_on"]))
    return result.rowcount


def _expired_cases(session, cutoff, after, limit):
    stmt = select(KycCase.id).where(KycCase.relationship_ended_on.is_not(None),
                                    KycCase.relationship_ended_on < cutoff.date())
    return session.scalars(keys_after(stmt, KycCase.id, after, limit)).all()


def _remove_cases(session, keys, now):
    for name in session.scalars(select(KycCase.file_name).where(KycCase.id.in_(keys),
                                                                KycCase.file_name.is_not(None))):
        (handlers.files_dir() / name).unlink(missing_ok=True)
    session.execute(delete(KycParty).where(KycParty.case_id.in_(keys)))
    session.execute(delete(KycCase).where(KycCase.id.in_(keys)))


RULES = [
    Rule("cases", "KYC cases: national id, identity document and its file, beneficial owners and PEPs", "5y",
         "customer relationship ended (identity's customer_relationship_changed event)", handlers.AML_BASIS,
         "deleted", _expired_cases, _remove_cases),
]


def case_until(case) -> str | None:
    return RULES[0].until(SERVICE, case.relationship_ended_on)
