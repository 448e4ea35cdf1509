"""The driver service's part of the retention schedule."""
from sqlalchemy import delete, or_, select, update

from shared.retention import Rule, delete_older, find, keys_after

from services.driver.models import Fueling, LocationPing, Trip, Vehicle, WashBooking

SERVICE = "driver"
TAX_BASIS = ("Verotusmenettelylaki 1558/1995 (tax audit period): the driving log proves the car benefit, "
             "6 years from the end of the tax year")
BOOKKEEPING_BASIS = "Kirjanpitolaki 1336/1997 2:10 §: supporting bookkeeping data, 6 years from the end of the year"


def _expired_fueling_phones(session, cutoff, after, limit):
    stmt = select(Fueling.id).where(Fueling.phone.is_not(None), Fueling.fueled_at < cutoff)
    return session.scalars(keys_after(stmt, Fueling.id, after, limit)).all()


def _remove_fueling_phones(session, keys, now):
    session.execute(update(Fueling).where(Fueling.id.in_(keys)).values(phone=None))


def _expired_fuelings(session, cutoff, after, limit):
    """Past the bookkeeping period of both the fueling's year and its vehicle's contract."""
    stmt = (select(Fueling.id).outerjoin(Vehicle, Vehicle.vehicle_id == Fueling.vehicle_id)
            .where(Fueling.fueled_at < cutoff,
                   or_(Vehicle.contract_ends_on.is_(None), Vehicle.contract_ends_on < cutoff.date())))
    return session.scalars(keys_after(stmt, Fueling.id, after, limit)).all()


def _remove_fuelings(session, keys, now):
    session.execute(delete(Fueling).where(Fueling.id.in_(keys)))


RULES = [
    Rule("location_pings", "real-time location pings (with consent)", "30d", "ping recorded",
         "GDPR art. 6(1)(a) consent; art. 5(1)(e) storage limitation (all at once when the consent is withdrawn)",
         "deleted", *delete_older(LocationPing, LocationPing.at)),
    Rule("driving_log", "driving log entries (trips: km, route, type, who added them)", "6y",
         "end of the tax year of the trip", TAX_BASIS, "deleted", *delete_older(Trip, Trip.date), year_end=True),
    Rule("fueling_phones", "phone number a fuel partner sent with a fueling", "12m", "fueling",
         "GDPR art. 5(1)(c),(e): needed only to match the fueling to a driver", "anonymised",
         _expired_fueling_phones, _remove_fueling_phones),
    Rule("fuelings", "partner fuelings (time, place, product, litres, vehicle)", "6y",
         "end of the year of the fueling, and not before the bookkeeping period of the vehicle's contract",
         BOOKKEEPING_BASIS, "deleted", _expired_fuelings, _remove_fuelings, year_end=True),
    Rule("wash_bookings", "wash bookings (time, wash, place, phone)", "6y", "end of the year of the wash",
         BOOKKEEPING_BASIS + " (billed add-on service)", "deleted", *delete_older(WashBooking, WashBooking.wash_at),
         year_end=True),
    Rule("driver_profiles", "driver profile (name, phone, email: a copy of identity's person)", "0d",
         "person erased in identity (on request, or by identity's prospects / former customers rules)",
         "follows identity", "anonymised", enforced_by="identity's erasure (erase_person RPC)"),
]


def driving_log_until(last_trip_date):
    return find(RULES, "driving_log").until(SERVICE, last_trip_date)


def fuelings_until(last_fueled_at, contract_ends_on):
    start = max(filter(None, [last_fueled_at.date() if last_fueled_at else None, contract_ends_on]), default=None)
    return find(RULES, "fuelings").until(SERVICE, start)
