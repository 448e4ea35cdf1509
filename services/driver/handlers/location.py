"""Location pings, kept only while the person's location_tracking consent (marketing's
consent_changed) is granted."""
from sqlalchemy import delete, select

from shared.db import paginate

from services.driver.exceptions import ConsentRequired
from services.driver.handlers import drivers
from services.driver.models import LocationConsent, LocationPing


LOCATION_TRACKING = "location_tracking"


@drivers.retry_on_conflict
def apply_consent(session, data) -> int:
    """Keeps the latest location_tracking consent; purges the pings unless granted.
    Returns how many pings were purged."""
    if data["purpose"] != LOCATION_TRACKING:
        return 0
    consent = session.get(LocationConsent, data["person_id"])
    if consent is None:
        consent = LocationConsent(person_id=data["person_id"], status=data["status"], at=data["at"])
        session.add(consent)
    elif data["at"] >= consent.at:
        consent.status, consent.at = data["status"], data["at"]
    purged = 0
    if consent.status != "granted":
        purged = session.execute(delete(LocationPing).where(LocationPing.person_id == data["person_id"])).rowcount
    return purged


def add_ping(session, person_id, data) -> LocationPing:
    consent = session.get(LocationConsent, person_id)
    if consent is None or consent.status != "granted":
        raise ConsentRequired()
    ping = LocationPing(person_id=person_id, **data)
    session.add(ping)
    session.flush()  # its id, for the answer
    return ping


def list_pings(session, person_id, limit, cursor):
    stmt = select(LocationPing).where(LocationPing.person_id == person_id)
    return paginate(session, stmt, (LocationPing.at, LocationPing.id), limit, cursor)
