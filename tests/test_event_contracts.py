"""Event contracts (issue 13 §2): the subscription table in shared.messaging is exactly the
@event_handlers that exist, and every event a service publishes loads into every subscriber's
schema, with every field the subscriber reads present in it (a tolerant reader would otherwise
read a renamed field as missing, silently).

Payloads are real: identity's and marketing's come from running their use cases (the events
the unit of work collected), fleet's and driver's from the publisher's own payload code over
model instances, the gateway's from its usage recorder. Each subscriber's real handler is run
on them up to its first database access, which shows it loaded the payload and with which
schema."""
import datetime as dt
import importlib
import uuid
from decimal import Decimal

import pytest
from kombu.utils.json import dumps, loads
from nameko.events import EventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from shared import schemas as shared_schemas
from shared.crypto import FieldCipher
from shared.db import STAFF_SCOPE, collected_events
from shared.messaging import (ACCOUNT_CHANGED, CONSENT_CHANGED, CONTRACT_CHANGED, CUSTOMER_RELATIONSHIP_CHANGED,
                              FUELING_RECORDED, PERSON_CREATED, PERSON_UPDATED, REQUEST_LOGGED, SUBSCRIPTIONS,
                              TRIP_LOGGED, VEHICLE_ASSIGNED)

SERVICES = ("identity", "fleet", "driver", "billing", "kyc", "marketing")


def service_class(name):
    module = importlib.import_module(f"services.{name}.service")
    [cls] = [value for value in vars(module).values()
             if isinstance(value, type) and value.__module__ == module.__name__ and getattr(value, "name", None) == name]
    return cls


def event_handlers():
    """(source, event, service, method) of every @event_handler of every service."""
    found = []
    for name in SERVICES:
        cls = service_class(name)
        for attribute in dir(cls):
            for entrypoint in getattr(getattr(cls, attribute), ENTRYPOINT_EXTENSIONS_ATTR, ()):
                if isinstance(entrypoint, EventHandler):
                    found.append((entrypoint.source_service, entrypoint.event_type, name, attribute))
    return found


def test_the_subscription_table_is_exactly_the_event_handlers_that_exist():
    handlers = event_handlers()
    assert len(set(SUBSCRIPTIONS)) == len(SUBSCRIPTIONS), "a subscription is listed twice"
    assert sorted(handlers) == sorted(SUBSCRIPTIONS), (
        f"handlers without a SUBSCRIPTIONS row: {sorted(set(handlers) - set(SUBSCRIPTIONS))}; "
        f"rows without a handler: {sorted(set(SUBSCRIPTIONS) - set(handlers))}")


# --- real payloads, per (source, event) ----------------------------------------------------

def _on_the_wire(payload):
    """As a subscriber receives it: through the JSON serializer the events travel with."""
    return loads(dumps(payload))


def _collected(session, event):
    return [payload for name, payload in collected_events(session) if name == event]


@pytest.fixture
def identity_events(db_session_factory):
    from services.identity.handlers import accounts, organisations, persons, relationships

    session = db_session_factory("identity")
    cipher = FieldCipher.from_env()
    company = organisations.create_organisation(session, {"name": "Oy Contract Ab", "business_id": "0737546-2"})
    person = persons.create_person(session, cipher, {"first_name": "Aino", "last_name": "Aalto",
                                                     "email": "aino@example.fi", "phone": "+358401234567",
                                                     "national_id": "131052-308T"})
    persons.create_person(session, cipher, {"first_name": "Bo", "last_name": "Berg"})  # no contact data
    persons.update_person(session, cipher, person.id, {"email": "aino.aalto@example.fi"}, STAFF_SCOPE)
    relationship = relationships.create_customer(session, {"party_type": "organisation", "party_id": company.id,
                                                           "customer_type": "corporate", "status": "customer"})
    relationships.update_customer(session, relationship.id, {"status": "former"})
    manager = accounts.create_account(session, {"username": "fm-contract", "password": "Long-enough-password-1",
                                                "role": "fleet_manager", "organisation_id": company.id,
                                                "scope": "company"})
    accounts.update_account(session, manager.id, {"active": False}, {"account_id": None, "role": "staff"})
    return {event: _collected(session, event)
            for event in (PERSON_CREATED, PERSON_UPDATED, CUSTOMER_RELATIONSHIP_CHANGED, ACCOUNT_CHANGED)}


@pytest.fixture
def marketing_events(db_session_factory):
    from services.marketing import handlers

    session = db_session_factory("marketing")
    person_id = str(uuid.uuid4())
    handlers.upsert_contact(session, {"id": person_id, "first_name": "Aino", "last_name": "Aalto",
                                      "email": "aino@example.fi", "phone": None})
    actor = {"account_id": str(uuid.uuid4()), "role": "driver"}
    handlers.set_consent(session, person_id, "location_tracking", {"status": "granted", "source": "app"}, actor, True)
    handlers.erase_person(session, person_id)  # the withdrawal it broadcasts
    return {CONSENT_CHANGED: _collected(session, CONSENT_CHANGED)}


def fleet_events():
    from services.fleet import schemas
    from services.fleet.models import Contract, Vehicle

    vehicle = Vehicle(id=str(uuid.uuid4()), registration_number="ABC-123", vin="WVWZZZ1JZXW000001", make="Volvo",
                      model="XC40", vehicle_class="M1", power_source="electric", co2_g_per_km=0,
                      user_organisation_id=str(uuid.uuid4()), driver_person_id=str(uuid.uuid4()), status="in_use")
    contract = Contract(id=str(uuid.uuid4()), vehicle=vehicle, vehicle_id=vehicle.id, customer_id=str(uuid.uuid4()),
                        contract_type="operating lease", status="active", starts_on=dt.date(2026, 1, 1),
                        ends_on=dt.date(2028, 12, 31), length_months=36, lease_rent=Decimal("523.40"),
                        included_km=90000, start_km=12, add_on_services=["celebration_wash"])
    assigned = {**schemas.VehicleAssignedEvent().dump(vehicle), "previous_driver_person_id": str(uuid.uuid4())}
    return {VEHICLE_ASSIGNED: [assigned], CONTRACT_CHANGED: [schemas.ContractChangedEvent().dump(contract)]}


def driver_events():
    from services.driver import schemas
    from services.driver.models import Fueling, Trip

    fueling = Fueling(id=str(uuid.uuid4()), event_id=str(uuid.uuid4()), partner="neste", phone="+358401234567",
                      registration_number="ABC-123", product="Neste Futura 95E10", company="Neste",
                      municipality="Espoo", station="Neste Espoo Keilaniemi", liters=Decimal("38.500"),
                      amount_eur=Decimal("72.30"), fueled_at=dt.datetime(2026, 11, 3, 6, 15, tzinfo=dt.timezone.utc),
                      person_id=str(uuid.uuid4()), vehicle_id=str(uuid.uuid4()), organisation_id=str(uuid.uuid4()))
    trip = Trip(id=str(uuid.uuid4()), vehicle_id=str(uuid.uuid4()), person_id=str(uuid.uuid4()),
                organisation_id=str(uuid.uuid4()), date=dt.date(2026, 11, 3), odometer_start=1000,
                odometer_end=1042, km=42, trip_type="work", start_point="Espoo", end_point="Helsinki")
    return {FUELING_RECORDED: [schemas.fueling_recorded_event([fueling])], TRIP_LOGGED: [schemas.TripLoggedEvent().dump(trip)]}


def gateway_events():
    from gateway.usage import UsageRecorder

    recorder = UsageRecorder("memory://")
    request = Request(EnvironBuilder(method="GET", path="/api/v1/persons",
                                     headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0"},
                                     environ_base={"REMOTE_ADDR": "192.0.2.10"}).get_environ())
    recorder.record(request, 200, {"account_id": str(uuid.uuid4())})
    recorder.flush_timer.cancel()
    return {REQUEST_LOGGED: [{"entries": recorder.pending}]}


@pytest.fixture
def published(identity_events, marketing_events):
    return {"identity": identity_events, "marketing": marketing_events, "fleet": fleet_events(),
            "driver": driver_events(), "gateway": gateway_events()}


# --- subscribers ---------------------------------------------------------------------------

class FirstEffect(Exception):
    """The handler loaded its payload and reached for the database."""


class StopAtFirstEffect:
    def __getattr__(self, name):
        raise FirstEffect(name)


def _fields_read(schema) -> set:
    return {field.data_key or name for name, field in schema.fields.items() if not field.dump_only}


def run_until_first_effect(service, method, payload, monkeypatch):
    """Run the subscriber's real handler; return the schema it loaded the payload with."""
    module = importlib.import_module(f"services.{service}.service")
    used = []

    def recording_load(schema, data, **kwargs):
        used.append(schema)
        return shared_schemas.load(schema, data, **kwargs)

    monkeypatch.setattr(module, "load", recording_load)
    worker = worker_factory(service_class(service), db=StopAtFirstEffect())
    with pytest.raises(FirstEffect):
        getattr(worker, method)(payload)
    if not used and (service, method) in FAST_READERS:
        return FAST_READERS[service, method]()
    assert used, f"{service}.{method} does not load its payload with a schema"
    return used[0]


def _fleet_fueling_recorded():
    from services.fleet.schemas import FuelingRecordedEvent
    return FuelingRecordedEvent()


# handlers that read the exact form their publisher sends without marshmallow, falling back to
# the schema for anything else; their own tests show the two agree
# (services/fleet/tests/test_service.py::test_fueling_recorded_loads_as_its_schema_says)
FAST_READERS = {("fleet", "on_fueling_recorded"): _fleet_fueling_recorded}


@pytest.mark.parametrize("source, event, service, method", SUBSCRIPTIONS,
                         ids=[f"{s}.{e}->{c}.{m}" for s, e, c, m in SUBSCRIPTIONS])
def test_every_published_event_loads_into_every_subscribers_schema(published, monkeypatch, source, event, service,
                                                                   method):
    payloads = published.get(source, {}).get(event)
    assert payloads, f"no real {source}.{event} payload produced here: add its publisher above"
    for payload in map(_on_the_wire, payloads):
        schema = run_until_first_effect(service, method, payload, monkeypatch)
        missing = _fields_read(schema) - set(payload)
        assert not missing, (f"{service}.{method} reads {sorted(missing)} that {source}.{event} does not send "
                             f"(it sends {sorted(payload)})")


def test_every_gateway_process_loads_identitys_account_changed(published):
    """The gateway's broadcast handlers (one queue per process, so not in SUBSCRIPTIONS) read
    identity's account_changed with its contract schema."""
    from gateway.service import GatewayService

    payloads = published["identity"][ACCOUNT_CHANGED]
    assert payloads
    worker = worker_factory(GatewayService)
    for payload in map(_on_the_wire, payloads):
        worker.on_account_changed(payload)  # raises ValidationFailed on a payload it cannot read
