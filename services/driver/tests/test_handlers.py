import datetime as dt
import json
import uuid
from decimal import Decimal

import pika
import sqlalchemy
import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import text

from shared.db import STAFF_SCOPE, MissingScope, collected_events
from shared.errors import ValidationFailed
from shared.messaging import (FUELING_RECORDED, PARTNER_FUELING_DEAD_QUEUE, PARTNER_FUELING_EXCHANGE,
                              REJECT_REASON_HEADER, declare_topology)
from shared.schemas import load
from shared.waiting import wait_for
from testing.stack import TEST_SECRETS

from services.driver import schemas
from services.driver.handlers import drivers, fuelings, location
from services.driver.schemas import MAX_DEPTH, fast_parse, nesting_exceeds, parse_partner_message
from services.driver.exceptions import ConsentRequired
from services.driver.models import Fueling, LocationPing
from services.driver.service import DriverService

UTC = dt.timezone.utc


def partner_event(**overrides):
    return {"event_id": str(uuid.uuid4()), "partner": "neste", "phone": "+358401234567",
            "registration_number": "ABC-123", "product": "Diesel", "company": "Neste", "municipality": "Espoo",
            "station": "Keilaniemi", "liters": 41.37, "fueled_at": "2026-11-24T08:15:00+02:00", **overrides}


VARIANTS = [
    {}, {"liters": 40}, {"liters": 0.0005}, {"liters": "41.37"}, {"liters": True}, {"liters": -1}, {"liters": 1e9},
    {"liters": float("nan")}, {"amount_eur": "80.1"}, {"amount_eur": 80.1}, {"amount_eur": "-1"}, {"amount_eur": None},
    {"phone": "040 123 4567"}, {"phone": "12"}, {"phone": 358401234567}, {"registration_number": "abc123"},
    {"registration_number": "1234"}, {"event_id": str(uuid.uuid4()).upper()}, {"event_id": "x"},
    {"fueled_at": "2026-11-24T06:15:00Z"}, {"fueled_at": "2026-11-24T08:15:00"}, {"fueled_at": "yesterday"},
    {"station": ""}, {"station": "x" * 201}, {"partner": 5}, {"extra": "ignored"},
]


@pytest.mark.parametrize("overrides", VARIANTS)
def test_fast_path_never_accepts_what_the_schema_rejects_and_agrees_on_values(overrides):
    data = partner_event(**overrides)
    fast = fast_parse(data)
    try:
        slow = load(schemas.PartnerFueling(), data)
    except ValidationFailed:
        assert fast is None
        return
    if fast is not None:
        assert fast == slow


def test_partner_message_size_and_nesting_are_bounded_before_parsing():
    event = partner_event()
    assert not nesting_exceeds(json.dumps({**event, "extra": {"a": ["[[[[{{{{" * 50]}}).encode(), MAX_DEPTH)
    assert nesting_exceeds(json.dumps({**event, "extra": [[[[[[[[["x"]]]]]]]]]}).encode(), MAX_DEPTH)
    assert nesting_exceeds(('{"a": "\\\\", "b": ' + "[" * 9 + "]" * 9 + "}").encode(), MAX_DEPTH)
    cases = {b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}": "too_large",
             b'{"a": ' + b"[" * 20_000 + b"]" * 20_000 + b"}": "too_deep",
             json.dumps({**event, "padding": "x" * 70_000}).encode(): "too_large"}
    for body, reason in cases.items():
        with pytest.raises(ValidationFailed, match=reason):
            parse_partner_message(body, "fueling.neste")
    assert parse_partner_message(json.dumps({**event, "extra": {"a": [1]}}).encode(), "fueling.neste")


# the forms partners really send: each must take the fast path, or the hot path is dead
FAST_VARIANTS = [
    {}, {"liters": 40}, {"amount_eur": "80.1"}, {"amount_eur": "80.15"}, {"amount_eur": None},
    {"fueled_at": "2026-11-24T06:15:00Z"}, {"fueled_at": "2026-11-24T08:15:00.123+02:00"},
    {"phone": "040 123 4567"}, {"registration_number": "abc123"}, {"extra": "ignored"},
]


@pytest.mark.parametrize("overrides", FAST_VARIANTS)
def test_valid_partner_messages_take_the_fast_path(overrides, monkeypatch):
    data = partner_event(**overrides)
    fast = fast_parse(data)
    assert fast is not None, f"{overrides} fell back to the schema"
    assert fast == load(schemas.PartnerFueling(), data)

    def no_schema(*args):
        raise AssertionError("parse_partner_message used the schema for a valid message")
    monkeypatch.setattr(schemas, "load", no_schema)
    assert parse_partner_message(json.dumps(data).encode(), "fueling.neste") == fast


def test_partner_message_must_name_the_partner_of_its_routing_key():
    body = json.dumps(partner_event()).encode()
    assert parse_partner_message(body, "fueling.neste")["liters"] == Decimal("41.370")
    with pytest.raises(ValidationFailed, match="partner_mismatch"):
        parse_partner_message(body, "fueling.st1")
    with pytest.raises(ValidationFailed, match="invalid_fields"):
        parse_partner_message(json.dumps(partner_event(station="a\x00b")).encode(), "fueling.neste")
    with pytest.raises(ValidationFailed, match="invalid_json"):
        parse_partner_message(b"{", "fueling.neste")


def consent(person_id, status, hour):
    return {"person_id": person_id, "purpose": "location_tracking", "status": status,
            "at": dt.datetime(2026, 11, 24, hour, tzinfo=UTC)}


def test_location_needs_consent_and_an_older_event_never_reopens_it(session):
    person_id = str(uuid.uuid4())
    ping = {"lat": 60.1, "lon": 24.9, "at": dt.datetime(2026, 11, 24, 10, tzinfo=UTC)}
    with pytest.raises(ConsentRequired):
        location.add_ping(session, person_id, ping)
    location.apply_consent(session, consent(person_id, "granted", 9))
    location.add_ping(session, person_id, ping)
    assert location.apply_consent(session, {**consent(person_id, "granted", 9), "purpose": "profiling"}) == 0
    assert location.apply_consent(session, consent(person_id, "withdrawn", 12)) == 1
    location.apply_consent(session, consent(person_id, "granted", 11))  # late, older event
    with pytest.raises(ConsentRequired):
        location.add_ping(session, person_id, ping)
    assert session.query(LocationPing).count() == 0


def stored_fueling(session, **fields):
    item = load(schemas.PartnerFueling(), partner_event(**fields))
    fueling = Fueling(**item)
    session.add(fueling)
    session.commit()
    return fueling


def test_unmatched_fueling_is_matched_when_person_and_vehicle_appear(session):
    fueling = stored_fueling(session, phone="+358409999999", registration_number="XYZ-999")
    person_id, vehicle_id = str(uuid.uuid4()), str(uuid.uuid4())
    assert drivers.upsert_profile_from_person(session, {"id": person_id, "first_name": "A", "last_name": "B",
                                                         "email": None, "phone": "+358409999999"}) == []
    assert fueling.person_id == person_id and fueling.matched_at is None
    matched = drivers.apply_vehicle_assigned(session, {
        "vehicle_id": vehicle_id, "registration_number": "XYZ-999", "driver_person_id": person_id,
        "user_organisation_id": str(uuid.uuid4()), "make": "VW", "model": "Golf"})
    assert [f.id for f in matched] == [fueling.id]
    [event] = schemas.fueling_recorded_event(matched)["fuelings"]
    assert (event["vehicle_id"], event["person_id"], event["liters"], event["amount_eur"]) == (
        vehicle_id, person_id, "41.370", None)


def test_fueling_recorded_is_one_event_of_the_contract_for_what_one_use_case_matched(session):
    """The nameko path (a new phone or plate matches waiting fuelings) and the partner batch
    path (column dicts of store_fuelings) build the payload with one function, which gives
    what the contract schema gives."""
    waiting = [stored_fueling(session, phone="+358409999998", registration_number="XYZ-998", amount_eur=amount)
               for amount in ("80.15", None)]
    service = worker_factory(DriverService, db=session)
    person_id, vehicle_id = str(uuid.uuid4()), str(uuid.uuid4())
    service.on_person_created({"id": person_id, "first_name": "A", "last_name": "B", "email": None,
                               "phone": "+358409999998"})
    service.on_vehicle_assigned({"vehicle_id": vehicle_id, "registration_number": "XYZ-998",
                                 "driver_person_id": person_id, "user_organisation_id": str(uuid.uuid4())})
    [(name, payload)] = [event for event in collected_events(session) if event[0] == FUELING_RECORDED]
    assert payload == schemas.FuelingRecordedEvent().dump({"fuelings": waiting})
    assert [f["fueling_id"] for f in payload["fuelings"]] == [f.id for f in waiting]
    assert [f["amount_eur"] for f in payload["fuelings"]] == ["80.15", None]

    [stored] = fuelings.store_fuelings(session, [load(schemas.PartnerFueling(), partner_event(
        phone="+358409999998", registration_number="XYZ-998"))])
    assert isinstance(stored, dict)
    assert schemas.fueling_recorded_event([stored]) == schemas.FuelingRecordedEvent().dump({"fuelings": [stored]})


def test_vehicle_summary_export_and_idempotent_erasure(session):
    person_id, vehicle_id, org = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    service = worker_factory(DriverService, db=session)
    service.on_person_created({"id": person_id, "first_name": "Liisa", "last_name": "V", "email": "l@example.fi",
                               "phone": "+358401111111"})
    service.on_vehicle_assigned({"vehicle_id": vehicle_id, "registration_number": "ERA-123",
                                 "driver_person_id": person_id, "user_organisation_id": org})
    service.on_consent_changed({**consent(person_id, "granted", 9), "at": "2026-11-24T09:00:00+00:00",
                                "source": "app"})
    service.log_trip(person_id, None, {"started_at": "2026-05-01T10:00:00+03:00",
                                       "ended_at": "2026-05-01T10:30:00+03:00", "odometer_start": 10, "odometer_end": 25,
                                       "trip_type": "private", "start_point": "A", "end_point": "B"})
    service.add_location(person_id, {"lat": 1, "lon": 2, "at": "2026-11-24T10:00:00+00:00"})
    stored_fueling(session, phone="+358401111111", registration_number="ERA-123")
    fuelings.match_pending(session, phones=["+358401111111"])
    session.commit()

    summary = service.vehicle_summary(vehicle_id, STAFF_SCOPE)
    assert summary["trips"] == {"count": 1, "work_km": 0, "private_km": 15, "last_date": "2026-05-01"}
    assert len(summary["latest_fuelings"]) == 1

    export = service.export_person(person_id)
    assert {section["role"] for section in export.values()} == {"controller", "processor"}
    assert export["profile"]["data"]["phone"] == "+358401111111" and len(export["location"]["items"]) == 1

    first = service.erase_person(person_id)
    second = service.erase_person(person_id)
    assert first == second
    assert {r["held_for"] for r in first["retained"]} == {org}
    after = service.export_person(person_id)
    assert after["profile"]["data"]["phone"] is None and after["location"]["items"] == []
    assert after["fuelings"]["items"][0]["vehicle_id"] == vehicle_id
    assert "+358401111111" not in json.dumps(after)


def test_consumer_dead_letters_a_message_the_database_refuses_and_stores_the_rest(
        db_session_factory, vhost_uri, container_factory, monkeypatch):
    driver_db = db_session_factory("driver")
    driver_db.execute(text("CREATE TRIGGER poison BEFORE INSERT ON fuelings WHEN NEW.station = 'poison' "
                           "BEGIN SELECT RAISE(ABORT, 'refused'); END"))
    driver_db.commit()
    monkeypatch.setenv("DRIVER_DATABASE_URL", str(driver_db.get_bind().url))
    declare_topology(vhost_uri)
    good = [partner_event() for _ in range(5)]
    bodies = [json.dumps(e) for e in good[:2]] + [json.dumps(partner_event(station="poison"))] + \
        [json.dumps(e) for e in good[2:]]
    connection = pika.BlockingConnection(pika.URLParameters(vhost_uri))
    channel = connection.channel()
    for body in bodies:
        channel.basic_publish(PARTNER_FUELING_EXCHANGE, "fueling.neste", body, pika.BasicProperties(delivery_mode=2))
    container_factory(DriverService, {"AMQP_URI": vhost_uri, **TEST_SECRETS}).start()

    def dead_letter():
        method, properties, body = channel.basic_get(PARTNER_FUELING_DEAD_QUEUE, auto_ack=True)
        return method and (properties.headers[REJECT_REASON_HEADER], body)
    reason, body = wait_for(dead_letter, timeout=10)
    assert reason == "storage_error: IntegrityError" and b"poison" in body
    driver_db.expire_all()
    assert {f.event_id for f in driver_db.query(Fueling)} == {e["event_id"] for e in good}
    connection.close()


def test_trips_and_fuelings_stay_with_the_organisation_that_used_the_vehicle_then(session):
    former, current = str(uuid.uuid4()), str(uuid.uuid4())
    first_driver, second_driver, vehicle_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    service = worker_factory(DriverService, db=session)
    for person_id, phone in ((first_driver, "+358402222221"), (second_driver, "+358402222222")):
        service.on_person_created({"id": person_id, "first_name": "D", "last_name": "R", "email": None,
                                   "phone": phone})

    def assign(driver, organisation):
        service.on_vehicle_assigned({"vehicle_id": vehicle_id, "registration_number": "REL-123",
                                     "driver_person_id": driver, "user_organisation_id": organisation})

    def trip(driver, start, trip_type):
        service.log_trip(driver, None, {"started_at": "2026-05-01T10:00:00+03:00",
                                        "ended_at": "2026-05-01T11:00:00+03:00",
                                        "odometer_start": start, "odometer_end": start + 10,
                                        "trip_type": trip_type, "start_point": "Home", "end_point": "Cottage",
                                        **({"purpose": "Customer visit"} if trip_type == "work" else {})})

    assign(first_driver, former)
    trip(first_driver, 100, "private")
    fuelings.store_fuelings(session, [load(schemas.PartnerFueling(), partner_event(
        phone="+358402222221", registration_number="REL-123"))])
    assign(second_driver, current)
    trip(second_driver, 110, "work")

    def trips(scope):
        return service.vehicle_trips(vehicle_id, scope, {}, 10)["items"]

    [old] = trips([former])
    assert (old["person_id"], old["organisation_id"], old["km"]) == (first_driver, former, 10)
    assert (old["start_point"], old["end_point"], old["purpose"]) == (None, None, None)  # private: km only
    assert [t["person_id"] for t in trips([current])] == [second_driver]
    assert {t["start_point"] for t in trips(STAFF_SCOPE)} == {"Home"}  # staff see everything
    assert [t["person_id"] for t in service.list_trips(second_driver, {}, 10)["items"]] == [second_driver]
    assert len(service.vehicle_fuelings(vehicle_id, [former], 10)["items"]) == 1
    assert service.vehicle_fuelings(vehicle_id, [current], 10)["items"] == []
    assert service.list_fuelings(second_driver, 10)["items"] == []
    assert service.vehicle_summary(vehicle_id, [current])["trips"]["work_km"] == 10
    assert service.vehicle_summary(vehicle_id, [current])["latest_fuelings"] == []
    with pytest.raises(MissingScope):
        service.vehicle_trips(vehicle_id, None, {}, 10)


def test_migration_gives_existing_rows_the_vehicles_organisation(tmp_path):
    from alembic import command

    from shared.migrate import alembic_config
    url, org = f"sqlite:///{tmp_path / 'driver.db'}", str(uuid.uuid4())
    command.upgrade(alembic_config("driver", url), "ed7b1e1850c9-1")  # before the owner columns
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as db:
        db.execute(text("INSERT INTO vehicles (vehicle_id, user_organisation_id, add_on_services, updated_at) "
                        "VALUES ('v1', :org, '[]', '2026-01-01')"), {"org": org})
        db.execute(text("INSERT INTO trips (id, vehicle_id, date, odometer_start, odometer_end, km, trip_type, "
                        "start_point, end_point, added_at) VALUES ('t1', 'v1', '2026-01-02', 0, 5, 5, 'work', 'a', "
                        "'b', '2026-01-02')"))
        db.execute(text("INSERT INTO fuelings (id, event_id, partner, registration_number, product, company, "
                        "municipality, station, liters, fueled_at, received_at, vehicle_id) VALUES ('f1', 'e1', 'p', "
                        "'OLD-1', 'D', 'N', 'E', 'S', 40, '2026-01-02', '2026-01-02', 'v1')"))
    command.upgrade(alembic_config("driver", url), "head")
    with engine.connect() as db:
        for table in ("trips", "fuelings"):
            assert db.execute(text(f"SELECT organisation_id FROM {table}")).scalar_one() == org
    engine.dispose()
