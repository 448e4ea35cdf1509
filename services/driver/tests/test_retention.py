"""Driver retention with an injected clock: pings 30 days, driving log 6 years after the tax
year, partner phone numbers 12 months; the export after a purge shows only what remains."""
import datetime as dt
import uuid
from decimal import Decimal

from shared import retention as schedule

from services.driver import retention
from services.driver.handlers import privacy
from services.driver.models import Fueling, LocationPing, RetentionLease, Trip, Vehicle

UTC = dt.timezone.utc
NOW = dt.datetime(2033, 3, 10, 9, 0, tzinfo=UTC)
PERSON = str(uuid.uuid4())
VEHICLE = str(uuid.uuid4())


def _trip(session, day):
    session.add(Trip(vehicle_id=VEHICLE, person_id=PERSON, date=day, odometer_start=1, odometer_end=2, km=1,
                     trip_type="work", start_point="A", end_point="B"))


def _fueling(session, at, phone="+358401234567"):
    session.add(Fueling(event_id=str(uuid.uuid4()), partner="neste", phone=phone, registration_number="ABC-123",
                        product="Diesel", company="Neste", municipality="Espoo", station="K", liters=Decimal("40"),
                        fueled_at=at, person_id=PERSON, vehicle_id=VEHICLE))


def _seed(session):
    session.add(Vehicle(vehicle_id=VEHICLE, registration_number="ABC-123", driver_person_id=PERSON,
                        contract_ends_on=dt.date(2025, 6, 30)))
    for age in (29, 31, 400):
        session.add(LocationPing(person_id=PERSON, lat=60.1, lon=24.9, at=NOW - dt.timedelta(days=age)))
    _trip(session, dt.date(2026, 12, 31))   # tax year 2026: kept until 31.12.2032 -> goes
    _trip(session, dt.date(2027, 1, 1))     # until 31.12.2033 -> stays
    _fueling(session, NOW - dt.timedelta(days=30))              # phone stays
    _fueling(session, NOW - dt.timedelta(days=400))             # phone goes
    _fueling(session, dt.datetime(2026, 5, 1, tzinfo=UTC))      # year 2026 and contract 2025 over: goes
    session.commit()


def _run(session, now=NOW):
    return schedule.run(session, "driver", retention.RULES, RetentionLease, now=now)


def test_each_category_goes_when_its_period_ends_and_the_export_shows_what_remains(session):
    _seed(session)
    expected = {"location_pings": 2, "driving_log": 1, "fueling_phones": 2, "fuelings": 1, "wash_bookings": 0}
    assert schedule.plan(session, "driver", retention.RULES, NOW) == expected
    assert session.query(LocationPing).count() == 3  # the dry run removed nothing

    assert _run(session) == {"ran": True, "removed": expected}
    export = privacy.export_person(session, PERSON)
    assert [p.at for p in export["location"]["items"]] == [NOW - dt.timedelta(days=29)]
    assert [t.date for t in export["driving_log"]["items"]] == [dt.date(2027, 1, 1)]
    phones = sorted((f.fueled_at, f.phone) for f in export["fuelings"]["items"])
    assert phones == [(NOW - dt.timedelta(days=400), None), (NOW - dt.timedelta(days=30), "+358401234567")]
    assert _run(session)["removed"] == dict.fromkeys(expected, 0)  # idempotent


def test_pings_are_removed_in_bounded_batches(session, monkeypatch):
    monkeypatch.setenv("SECTO_RETENTION_BATCH", "7")
    for minute in range(50):
        session.add(LocationPing(person_id=PERSON, lat=0, lon=0, at=NOW - dt.timedelta(days=31, minutes=minute)))
    session.commit()
    assert _run(session)["removed"]["location_pings"] == 50
    assert session.query(LocationPing).count() == 0


def test_a_configured_period_overrides_the_default(session, monkeypatch):
    session.add(LocationPing(person_id=PERSON, lat=0, lon=0, at=NOW - dt.timedelta(days=15)))
    session.commit()
    assert _run(session)["removed"]["location_pings"] == 0
    monkeypatch.setenv("SECTO_RETENTION", "driver.location_pings=14d")
    assert _run(session)["removed"]["location_pings"] == 1


def test_erasure_report_dates_the_kept_driving_log_and_fuelings(session):
    _seed(session)
    report = privacy.erase_person(session, PERSON)
    until = {item["data"].split(" of ")[0]: item["until"] for item in report["retained"]}
    assert until == {"driving log": "2033-12-31", "fuelings": "2039-12-31"}
