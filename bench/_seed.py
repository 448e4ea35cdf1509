"""Data the gateway benches read, created through the API as staff: an organisation and
`count` vehicles, each with a driver (a person), an active contract and an odometer reading."""
import uuid

from testing.data import random_plate, unique_business_id


def created(response) -> dict:
    assert response.status_code == 201, response.text[:300]
    return response.json()


def seed_fleet(admin, count) -> list[str]:
    """The ids of `count` vehicles of one organisation."""
    organisation = created(admin.post("/organisations", json={"name": f"Bench {uuid.uuid4().hex[:6]} Oy",
                                                                "business_id": unique_business_id()}))
    vehicle_ids = []
    for number in range(count):
        person = created(admin.post("/persons", json={"first_name": "Bench", "last_name": f"Driver{number}"}))
        vehicle = created(admin.post("/vehicles", json={
            "registration_number": random_plate(), "vin": "WVWZZZ1JZXW000001", "make": "Skoda", "model": "Octavia",
            "first_registration_date": "2025-03-01", "vehicle_class": "passenger_car", "power_source": "diesel",
            "co2_g_per_km": 120, "user_organisation_id": organisation["id"], "cost_center": "CC-100",
            "driver_person_id": person["id"]}))
        contract = created(admin.post("/contracts", json={
            "vehicle_id": vehicle["id"], "customer_id": organisation["id"], "contract_type": "Secto Huoltoleasing",
            "starts_on": "2026-01-01", "length_months": 36, "residual_value": "12000.00", "lease_rent": "523.40",
            "maintenance_budget": "89.95", "account_fee": "12.50", "included_km": 90000, "start_km": 10}))
        for status in ("awaiting_delivery", "active"):
            answer = admin.patch(f"/contracts/{contract['id']}", json={"status": status})
            assert answer.status_code == 200, answer.text[:300]
        created(admin.post(f"/vehicles/{vehicle['id']}/odometer",
                           json={"km": 1000 + number, "read_on": "2026-02-01", "source": "customer"}))
        vehicle_ids.append(vehicle["id"])
    return vehicle_ids
