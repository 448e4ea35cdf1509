import uuid

import pytest
from nameko.testing.services import worker_factory

from shared.db import STAFF_SCOPE
from shared.errors import ValidationFailed
from shared.messaging import CONTRACT_CHANGED, VEHICLE_ASSIGNED

from services.fleet.exceptions import DuplicateRegistration, IllegalTransition
from services.fleet.service import FleetService

ORG, DRIVER, NEXT_DRIVER = (str(uuid.uuid4()) for _ in range(3))


@pytest.fixture
def service(session):
    worker = worker_factory(FleetService, db=session, actor={"account_id": None})
    # the events the use cases collected for the unit of work to send after its commit (shared.db.publish)
    worker.events = session.info.setdefault("secto.events", [])
    return worker


def test_assignment_and_contract_events_carry_what_the_driver_profile_needs(service):
    car = service.create_vehicle({"registration_number": "xyz-987", "vin": "WVWZZZ1JZXW000001", "make": "Skoda",
                                  "model": "Enyaq", "vehicle_class": "passenger_car", "power_source": "electric",
                                  "co2_g_per_km": 0, "user_organisation_id": ORG, "driver_person_id": DRIVER})
    service.update_vehicle(car["id"], {"driver_person_id": NEXT_DRIVER, "cost_center": "CC-1"})
    service.update_vehicle(car["id"], {"make": "Škoda"})  # not an assignment change: no event
    deal = service.create_contract({"vehicle_id": car["id"], "customer_id": ORG, "contract_type": "Finance Leasing",
                                    "starts_on": "2026-12-01", "length_months": 24, "lease_rent": "400",
                                    "included_km": 40000, "start_km": 5, "add_on_services": ["celebration_wash"]})
    names = [name for name, _ in service.events]
    assert names == [VEHICLE_ASSIGNED, VEHICLE_ASSIGNED, CONTRACT_CHANGED]
    assert service.events[1][1] == {
        "vehicle_id": car["id"], "registration_number": "XYZ-987", "driver_person_id": NEXT_DRIVER,
        "previous_driver_person_id": DRIVER, "user_organisation_id": ORG, "make": "Skoda", "model": "Enyaq",
        "power_source": "electric", "co2_g_per_km": 0, "status": "in_use"}
    assert service.events[2][1] == {
        "contract_id": deal["id"], "vehicle_id": car["id"], "registration_number": "XYZ-987",
        "driver_person_id": NEXT_DRIVER, "customer_id": ORG, "status": "ordered", "contract_type": "Finance Leasing",
        "starts_on": "2026-12-01", "ends_on": "2028-11-30", "length_months": 24,
        "add_on_services": ["celebration_wash"], "included_km": 40000, "start_km": 5}
    assert deal["monthly_total"] == "400.00" and deal["remaining_months"] == 24
    history = service.vehicle_history(car["id"], STAFF_SCOPE, 10)["items"]
    assert [(h["driver_person_id"], h["cost_center"]) for h in history] == [(DRIVER, None), (NEXT_DRIVER, "CC-1")]


def test_bad_contract_input_names_each_field(service):
    with pytest.raises(ValidationFailed) as err:
        service.create_contract({"vehicle_id": "x", "lease_rent": "-1", "starts_on": "2026-13-01",
                                 "status": "active", "length_months": 0})
    assert {"vehicle_id", "lease_rent", "starts_on", "status", "length_months", "customer_id",
            "contract_type", "included_km"} <= set(err.value.details)


def test_billing_period_is_validated(service):
    with pytest.raises(ValidationFailed):
        service.contracts_for_billing("2026-13")


def test_a_refused_change_collects_no_event(service):
    new_car = {"registration_number": "REF-123", "vin": "WVWZZZ1JZXW000001", "make": "Skoda", "model": "Enyaq",
               "vehicle_class": "passenger_car", "power_source": "electric", "user_organisation_id": ORG}
    car = service.create_vehicle(new_car)
    deal = service.create_contract({"vehicle_id": car["id"], "customer_id": ORG, "contract_type": "Finance Leasing",
                                    "starts_on": "2026-12-01", "length_months": 24, "lease_rent": "400",
                                    "included_km": 40000})
    del service.events[:]
    with pytest.raises(IllegalTransition):
        service.update_contract(deal["id"], {"status": "ended"})
    with pytest.raises(DuplicateRegistration):
        service.create_vehicle(new_car)
    with pytest.raises(ValidationFailed):
        service.update_contract(deal["id"], {"status": "awaiting_delivery", "ends_on": "2026-01-01"})
    assert service.events == []
    assert service.get_contract(deal["id"], STAFF_SCOPE)["status"] == "ordered"


def recorded(**overrides):
    """One fueling of driver.fueling_recorded as the driver service sends it."""
    return {"fueling_id": str(uuid.uuid4()), "event_id": str(uuid.uuid4()), "vehicle_id": str(uuid.uuid4()),
            "registration_number": "ABC-123", "person_id": str(uuid.uuid4()), "organisation_id": ORG,
            "product": "Diesel", "company": "Neste", "municipality": "Espoo", "station": "Neste Espoo",
            "liters": "41.370", "amount_eur": "80.15", "fueled_at": "2026-11-24T06:15:00+00:00", **overrides}


VARIANTS = [
    {}, {"amount_eur": None}, {"person_id": None, "organisation_id": None, "event_id": None}, {"liters": "40"},
    {"liters": "41.375"}, {"liters": 41.37}, {"liters": "-1"}, {"liters": "NaN"}, {"liters": None}, {"amount_eur": 80},
    {"fueled_at": "2026-11-24T08:15:00.123+02:00"}, {"fueled_at": "2026-11-24T06:15:00Z"},
    {"fueled_at": "2026-11-24T06:15:00"}, {"fueled_at": "soon"}, {"fueling_id": "x"}, {"fueling_id": None},
    {"vehicle_id": str(uuid.uuid4()).upper()}, {"station": None}, {"station": 5}, {"station": "a\x00b"},
    {"product": "\ud800"}, {"extra": {"nested": [1]}},
]


@pytest.mark.parametrize("overrides", VARIANTS)
def test_fueling_recorded_loads_as_its_schema_says(overrides):
    """The fast path of recorded_fuelings is never more lenient than FuelingRecordedEvent,
    and gives what it gives."""
    from services.fleet.schemas import FuelingRecordedEvent, _fast_fueling, recorded_fuelings
    from shared.schemas import load

    payload = {"fuelings": [recorded(), recorded(**overrides)]}
    fast = _fast_fueling(payload["fuelings"][1])
    try:
        expected = load(FuelingRecordedEvent(), payload)["fuelings"]
    except ValidationFailed:
        assert fast is None
        with pytest.raises(ValidationFailed):
            recorded_fuelings(payload)
        return
    assert fast is None or fast == expected[1]
    assert recorded_fuelings(payload) == expected


def test_fueling_recorded_batches_are_stored_once_per_fueling(service, session):
    from services.fleet.models import Fueling

    first, second = recorded(), recorded(amount_eur=None)
    service.on_fueling_recorded({"fuelings": [first, second]})
    service.on_fueling_recorded({"fuelings": [second, recorded(fueling_id=first["fueling_id"])]})  # redelivered
    service.on_fueling_recorded(first)  # the single fueling of a driver service before the batches
    rows = {f.fueling_id: f for f in session.query(Fueling)}
    assert set(rows) == {first["fueling_id"], second["fueling_id"]}
    assert (str(rows[first["fueling_id"]].liters), rows[first["fueling_id"]].month) == ("41.37", "2026-11")
    assert rows[second["fueling_id"]].amount_eur is None
