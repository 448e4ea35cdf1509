"""The personal-data lifecycle in identity: export and erasure (anonymisation) of a person.
Identity erases first; the other services erase by their own erase_person RPC (the gateway's
POST /persons/{id}/erase, and identity's retention schedule before it anonymises)."""
from sqlalchemy import delete, select

from shared.db import STAFF_SCOPE, publish, utcnow
from shared.messaging import PERSON_ERASED

from services.identity import schemas
from services.identity.handlers.accounts import account_changed, keep_a_staff_account
from services.identity.handlers.audit import account_ids_of
from services.identity.handlers.persons import get_person, set_national_id
from services.identity.handlers.relationships import customer_history
from services.identity.models import AccessAudit, Account, CustomerRelationship, PersonRole, WebUsage

ERASED_NAME = "Erased"


def export_person(session, person_id) -> dict:
    person = get_person(session, person_id, STAFF_SCOPE)
    relationships = session.scalars(select(CustomerRelationship).where(
        CustomerRelationship.party_type == "person", CustomerRelationship.party_id == person_id)).all()
    return {
        "person": person,
        "roles": session.scalars(select(PersonRole).where(PersonRole.person_id == person_id)).all(),
        "customer_relationships": relationships,
        "history": {r.id: customer_history(session, r.id, STAFF_SCOPE) for r in relationships},
        "accounts": session.scalars(select(Account).where(Account.person_id == person_id)).all(),
        "access_audit": session.scalars(select(AccessAudit).where(AccessAudit.person_id == person_id)
                                        .order_by(AccessAudit.at)).all(),
    }


def erase_person(session, person_id) -> dict:
    """Anonymise the person; idempotent. Returns what was anonymised and what is kept."""
    person = get_person(session, person_id, STAFF_SCOPE)
    accounts = session.scalars(select(Account).where(Account.person_id == person_id)).all()
    keep_a_staff_account(session, accounts)
    anonymised = ["name", "email", "phone", "street_address", "postal_code", "city", "national_id",
                  "vehicle-user and contact roles", "web usage data", "accounts (deactivated, username and password hash removed)"]
    if person.erased_at is None:
        person.first_name = person.last_name = ERASED_NAME
        for field in ("email", "phone", "street_address", "postal_code", "city"):
            setattr(person, field, None)
        set_national_id(person, None, None)
        person.erased_at = utcnow()
        session.execute(delete(WebUsage).where(WebUsage.account_id.in_(account_ids_of(session, person_id))))
        session.execute(delete(PersonRole).where(PersonRole.person_id == person_id))
        for account in accounts:
            account.active = False
            account.token_version += 1
            account.username = f"erased-{account.id}"
            account.password_hash = ""
            account_changed(session, account)
        publish(session, PERSON_ERASED, schemas.PersonErasedEvent().dump({"person_id": person_id,
                                                                          "erased_at": person.erased_at}))
    from services.identity import retention  # the schedule anonymises through this function
    relationships = session.scalars(select(CustomerRelationship).where(
        CustomerRelationship.party_type == "person", CustomerRelationship.party_id == person_id)).all()
    last_read = session.scalars(select(AccessAudit.at).where(AccessAudit.person_id == person_id)
                                .order_by(AccessAudit.at.desc()).limit(1)).first()
    return {"anonymised": anonymised, "retained": [
        {"data": "customer relationship dates and service history (without identifying data)",
         "legal_basis": "Accounting Act (1336/1997) 2:10 — bookkeeping material",
         "until": retention.history_until(relationships), "held_for": None},
        {"data": "access audit log of reads of this person's data",
         "legal_basis": "GDPR art. 5(2) accountability and art. 32 security", "until": retention.audit_until(last_read),
         "held_for": None},
    ], "erased_at": person.erased_at.isoformat()}
