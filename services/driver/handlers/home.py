"""The Driver Assistant's home screen: the driver, the car, the latest partner fuelings and
the next wash booking."""
from sqlalchemy import select

from shared.db import utcnow

from services.driver.handlers import washes
from services.driver.handlers.drivers import me
from services.driver.models import Fueling, WashBooking


def home(session, person_id) -> dict:
    """me() plus the latest partner fuelings and the next wash booking."""
    latest = session.scalars(select(Fueling).where(Fueling.person_id == person_id)
                             .order_by(Fueling.fueled_at.desc(), Fueling.id.desc()).limit(3)).all()
    next_wash = session.scalars(washes.washes_stmt(person_id).where(WashBooking.cancelled_at.is_(None),
                                                                    WashBooking.wash_at > utcnow())
                                .order_by(WashBooking.wash_at).limit(1)).first()
    return {**me(session, person_id), "latest_fuelings": latest, "next_wash": next_wash}
