"""Staff and fleet managers on a vehicle's driver data (trips, fuelings, tire storage), scoped
by the organisation that used the vehicle then (re-lease: tests/test_bola_matrix.py); needs the
fleet service's vehicles (skipped until it has them)."""
import uuid

import pytest

from shared.waiting import wait_for
from testing.data import random_plate
from tests.test_driver_api import trip
from tests.test_partner_fueling import fueling, my_fuelings, partner  # noqa: F401  (fixture)


@pytest.fixture
def make_vehicle(admin):
    def make(organisation_id, driver_person_id):
        response = admin.post("/vehicles", json={
            "registration_number": random_plate(), "vin": "WVWZZZ1JZXW000001", "make": "Skoda", "model": "Octavia",
            "vehicle_class": "passenger_car", "power_source": "diesel", "co2_g_per_km": 120,
            "user_organisation_id": organisation_id, "driver_person_id": driver_person_id})
        assert response.status_code == 201, response.text
        return response.json()
    return make


def test_vehicle_driver_data_is_scoped_to_the_managers_organisation(admin, make_org, make_person, make_user,
                                                                     make_vehicle, partner):
    name, publisher, _ = partner
    org, other_org = make_org(), make_org()
    person = make_person()
    _, driver = make_user("driver", person_id=person["id"])
    vehicle = make_vehicle(org["id"], person["id"])
    _, manager = make_user("fleet_manager", organisation_id=org["id"])
    _, outsider = make_user("fleet_manager", organisation_id=other_org["id"])

    wait_for(lambda: driver.get("/me").status_code == 200 and driver.get("/me").json()["vehicle_id"], timeout=15)
    assert driver.post("/me/trips", json=trip()).status_code == 201
    publisher.publish(fueling(partner=name, phone=person["phone"], registration_number=vehicle["registration_number"]))
    wait_for(lambda: my_fuelings(driver), timeout=15)

    path = f"/vehicles/{vehicle['id']}"
    assert [t["km"] for t in manager.get(f"{path}/trips").json()["items"]] == [42]
    assert len(manager.get(f"{path}/fuelings").json()["items"]) == 1
    for sub in ("trips", "fuelings"):
        assert outsider.get(f"{path}/{sub}").status_code == 404
        assert admin.get(f"/vehicles/{uuid.uuid4()}/{sub}").status_code == 404

    assert manager.put(f"{path}/tire-storage", json={"location": "Vianor Espoo, shelf 12"}).status_code == 404
    stored = admin.put(f"{path}/tire-storage", json={"location": "Vianor Espoo, shelf 12"})
    assert stored.status_code == 200 and stored.json()["location"] == "Vianor Espoo, shelf 12"
    assert driver.get("/me/tire-storage").json()["location"] == "Vianor Espoo, shelf 12"
    assert admin.put(f"{path}/tire-storage", json={"location": ""}).status_code == 400
