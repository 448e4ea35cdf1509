"""Test data the platform accepts, unique within a run, and request bodies for the API."""
import random
import uuid

from stdnum.fi import hetu, ytunnus

CHECK_CHARS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
PASSWORD = "Long-enough-password-1"
# every national id the integration tests hand to the platform: tests/test_zz_no_plaintext.py
# checks none of them is stored or logged in plaintext
USED_NATIONAL_IDS: set[str] = set()


def unique_business_id() -> str:
    while True:
        base = f"{random.randint(1000000, 9999999)}"
        for digit in "0123456789":
            if ytunnus.is_valid(base + digit):
                return f"{base}-{digit}"


def unique_national_id() -> str:
    """A valid henkilötunnus (individual number 002-899) unlikely to repeat within a run."""
    while True:
        day, month, year = random.randint(1, 28), random.randint(1, 12), random.randint(0, 99)
        sign = random.choice("-ABCDEFUVWXY" if year < 24 else "-UVWXY")
        individual = random.randint(2, 899)
        body = f"{day:02d}{month:02d}{year:02d}{sign}{individual:03d}"
        check = CHECK_CHARS[int(f"{day:02d}{month:02d}{year:02d}{individual:03d}") % 31]
        if hetu.is_valid(body + check):
            USED_NATIONAL_IDS.add(body + check)
            return body + check


def unique_phone() -> str:
    return f"+35840{random.randint(1000000, 9999999)}"


def random_plate():
    return f"{''.join(chr(65 + (uuid.uuid4().int >> s) % 26) for s in (0, 8, 16))}-{uuid.uuid4().int % 900 + 100}"


def vehicle_body(organisation_id, **overrides):
    return {"registration_number": random_plate(), "vin": "WVWZZZ1JZXW000001", "make": "Skoda", "model": "Octavia",
            "first_registration_date": "2025-03-01", "vehicle_class": "passenger_car", "power_source": "diesel",
            "co2_g_per_km": 120, "registration_certificate": "DOC-1", "user_organisation_id": organisation_id,
            "cost_center": "CC-100", **overrides}


def contract_body(vehicle_id, customer_id, **overrides):
    return {"vehicle_id": vehicle_id, "customer_id": customer_id, "contract_type": "Secto Avoin Huoltoleasing",
            "starts_on": "2026-01-01", "length_months": 36, "residual_value": "12000.00", "lease_rent": "523.40",
            "maintenance_budget": "89.95", "account_fee": "12.50", "included_km": 90000, "start_km": 10,
            "replacement_car": True, "replacement_car_class": "B", "financing_company": "Nordea Rahoitus",
            "insurance_company": "If", "insurance_deductible": "300.00", "notes": "Talvirenkaat hotellissa",
            "add_on_services": ["celebration_wash", "tire_storage"], **overrides}


def created(response):
    assert response.status_code == 201, response.text
    return response.json()


def activate(admin, contract_id):
    for status in ("awaiting_delivery", "active"):
        response = admin.patch(f"/contracts/{contract_id}", json={"status": status})
        assert response.status_code == 200, response.text
