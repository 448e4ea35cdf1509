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
