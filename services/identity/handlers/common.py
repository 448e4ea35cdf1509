"""Small query helpers the identity sub-domains share."""
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.identity.models import CustomerRelationship


def contains(column, text):
    """`column` contains `text` literally (LIKE wildcards in it are plain text)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


def parties_with_status(party_type, status):
    return select(CustomerRelationship.party_id).where(CustomerRelationship.party_type == party_type,
                                                       CustomerRelationship.status == status)


def flush_or(session, conflict_error) -> None:
    """Write now (ids, unique constraints); a unique violation is `conflict_error` and leaves
    nothing of the failed unit of work behind."""
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise conflict_error() from None
