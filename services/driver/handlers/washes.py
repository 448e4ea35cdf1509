"""Wash bookings (the celebration wash add-on of the contract)."""
from sqlalchemy import select

from shared.db import paginate, utcnow

from services.driver.exceptions import WashInPast, WashNotFound, WashNotIncluded
from services.driver.handlers import drivers
from services.driver.models import WashBooking


CELEBRATION_WASH = "celebration_wash"


def book_wash(session, person_id, data) -> WashBooking:
    vehicle = drivers.require_vehicle(session, person_id)
    if CELEBRATION_WASH not in (vehicle.add_on_services or []):
        raise WashNotIncluded()
    phone = data.get("phone") or drivers.get_profile(session, person_id).phone
    booking = WashBooking(person_id=person_id, vehicle_id=vehicle.vehicle_id,
                          registration_number=vehicle.registration_number, phone=phone,
                          wash_at=data["wash_at"], wash=data["wash"], place=data["place"])
    session.add(booking)
    session.flush()  # its id, for the answer
    return booking


def washes_stmt(person_id):
    return select(WashBooking).where(WashBooking.person_id == person_id)


def list_washes(session, person_id, limit, cursor):
    return paginate(session, washes_stmt(person_id), (WashBooking.created_at, WashBooking.id), limit, cursor)


def cancel_wash(session, person_id, booking_id) -> WashBooking:
    """Idempotent; a booking of someone else is 404, a past one 409."""
    booking = session.scalars(washes_stmt(person_id).where(WashBooking.id == booking_id)).first()
    if booking is None:
        raise WashNotFound()
    if booking.cancelled_at is None:
        if booking.wash_at <= utcnow():
            raise WashInPast()
        booking.cancelled_at = utcnow()
    return booking
