"""Personal-data lifecycle through the gateway (SPEC §3): export gathers every service's
data about a person; erasure anonymises everywhere, reports what each service retains and
why, and is idempotent. A service that does not answer makes both a 503 naming it."""
import datetime as dt
import json
import uuid

import pytest

from shared.waiting import wait_for

from tests.conftest import unique_business_id, unique_national_id

SERVICES = {"identity", "fleet", "driver", "billing", "kyc", "marketing"}


def complete(response):
    """Every service implements export and erase: a 503 here is a failure, not a skip."""
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def subject(admin, make_person, make_user, stack):
    """A person with data in identity, marketing and driver: address, national id, a driver
    account that was used, consents, a location ping, profiling and event attendance."""
    national_id = unique_national_id()
    person = make_person(national_id=national_id, street_address=f"Testikatu {uuid.uuid4().hex[:6]}",
                         postal_code="00100", city="Helsinki")
    _, client = make_user("driver", person_id=person["id"])
    wait_for(lambda: admin.get(f"/marketing/contacts/{person['id']}").status_code == 200, timeout=10)
    for purpose in ("location_tracking", "email_marketing", "profiling"):
        assert client.put(f"/me/consents/{purpose}", json={"status": "granted", "source": "app"}).status_code == 200
    assert client.put("/me/consents/sms_marketing", json={"status": "prohibited", "source": "app"}).status_code == 200
    wait_for(lambda: client.post("/me/location", json={"lat": 60.1, "lon": 24.9,
                                                       "at": "2026-11-24T10:00:00+00:00"}).status_code == 201,
             timeout=10)
    assert admin.patch(f"/marketing/contacts/{person['id']}", json={"position": "CFO",
                                                                    "company": "Oy Ab"}).status_code == 200
    event = admin.post("/marketing/events", json={"name": "Launch", "starts_at": "2027-01-01T10:00:00Z"}).json()
    assert admin.post(f"/marketing/events/{event['id']}/attendees",
                      json={"person_id": person["id"], "status": "attended"}).status_code == 201
    vehicle = _lease_a_car(admin, person, client, national_id)
    _fuel(stack, person, vehicle, client)
    return person, national_id, client


def _fuel(stack, person, vehicle, client):
    """A partner fueling at a station, matched to the person by phone and plate."""
    from services.driver.partner.publish import Publisher

    with Publisher(stack.amqp_uri, "neste") as publisher:
        publisher.publish({"event_id": str(uuid.uuid4()), "partner": "neste", "phone": person["phone"],
                           "registration_number": vehicle["registration_number"], "product": "Neste Futura 95E10",
                           "company": "Neste", "municipality": "Espoo", "station": "Neste Espoo Keilaniemi",
                           "liters": 38.5, "amount_eur": "72.30", "fueled_at": "2026-11-03T08:15:00+02:00"})
    wait_for(lambda: client.get("/me/fuelings").json()["items"], timeout=15)


def _lease_a_car(admin, person, client, national_id):
    """A private customer: a vehicle they drive on their own contract, a trip, an invoice, a KYC case."""
    from tests.test_fleet_api import activate, contract_body, created, vehicle_body

    company = admin.post("/organisations", json={"name": "Lessor Oy", "business_id": unique_business_id()}).json()
    vehicle = created(admin.post("/vehicles", json=vehicle_body(company["id"], driver_person_id=person["id"])))
    period = dt.date.today().strftime("%Y-%m")
    contract = created(admin.post("/contracts", json=contract_body(vehicle["id"], person["id"],
                                                                   starts_on=f"{period}-01")))
    activate(admin, contract["id"])
    assert admin.put(f"/billing-profiles/{person['id']}", json={
        "method": "paper", "paper_contact": person["last_name"], "paper_address": person["street_address"],
        "email": person["email"]}).status_code == 200
    assert admin.post("/invoices/run", json={"period": period}).status_code == 200
    wait_for(lambda: client.get("/me").json().get("vehicle_id") == vehicle["id"], timeout=15)
    assert client.post("/me/trips", json={"started_at": "2026-11-02T07:30:00+02:00",
                                          "ended_at": "2026-11-02T08:00:00+02:00", "odometer_start": 100,
                                          "odometer_end": 142, "trip_type": "work", "start_point": "Koti", "end_point": "Työ",
                                          "purpose": "Work"}).status_code == 201
    assert admin.post("/kyc/cases", json={"customer_id": person["id"], "national_id": national_id,
                                          "document_type": "passport", "document_number": "XP7654321",
                                          "document_country": "FI", "document_expires_on": "2032-01-01"}
                      ).status_code == 201
    return vehicle


def identifying_values(person, national_id):
    return [person["first_name"] + " " + person["last_name"], person["last_name"], person["email"], person["phone"],
            person["street_address"], national_id, person["national_id"]]


def test_unknown_person_is_404_and_routes_are_staff_only(admin, make_person, make_user):
    unknown = str(uuid.uuid4())
    assert admin.get(f"/persons/{unknown}/export").json()["error"] == "person_not_found"
    assert admin.post(f"/persons/{unknown}/erase").status_code == 404
    person = make_person()
    _, client = make_user("driver", person_id=person["id"])
    assert client.get(f"/persons/{person['id']}/export").status_code == 404
    assert client.post(f"/persons/{person['id']}/erase").status_code == 404


def test_export_then_erase(admin, subject):
    person, national_id, client = subject
    pid = person["id"]
    marketing_before = admin.get(f"/consents/{pid}").json()
    assert len(marketing_before["history"]) == 4

    exported = complete(admin.get(f"/persons/{pid}/export"))
    assert set(exported) == SERVICES | {"person_id", "generated_at", "gateway"}
    assert exported["person_id"] == pid
    assert exported["identity"]["person"]["email"] == person["email"]
    assert exported["marketing"]["contact"]["position"] == "CFO"
    assert {c["purpose"] for c in exported["marketing"]["consents"]} == {
        "location_tracking", "email_marketing", "profiling", "sms_marketing"}
    assert exported["marketing"]["attendance"] and exported["gateway"]["web_usage"]
    assert exported["driver"]["profile"]["data"]["phone"] == person["phone"]
    assert [t["km"] for t in exported["driver"]["driving_log"]["items"]] == [42]
    [fueling] = exported["driver"]["fuelings"]["items"]
    assert fueling["station"] == "Neste Espoo Keilaniemi" and fueling["phone"] == person["phone"]
    assert exported["fleet"]["vehicles"]["role"] == "processor" and len(exported["fleet"]["vehicles"]["items"]) == 1
    assert exported["fleet"]["contracts"]["items"][0]["monthly_total"] == "625.85"
    assert exported["billing"]["profile"]["email"] == person["email"]
    assert [i["total"] for i in exported["billing"]["invoices"]] == ["625.85"]
    assert exported["kyc"]["cases"][0]["national_id"] == national_id[:7] + "****"
    for service in SERVICES | {"gateway"}:
        sections = exported[service]
        assert "role" in sections or all(s.get("role") in ("controller", "processor")
                                         for s in sections.values() if isinstance(s, dict)), service

    erased = complete(admin.post(f"/persons/{pid}/erase"))
    assert erased["person_id"] == pid and erased["erased_at"]
    assert set(erased["services"]) == SERVICES
    for service, report in erased["services"].items():
        assert isinstance(report["anonymised"], list), service
        for kept in report["retained"]:
            assert kept["data"] and kept["legal_basis"] and "until" in kept and "held_for" in kept, (service, kept)
    assert erased == admin.post(f"/persons/{pid}/erase").json()
    bases = {service: " ".join(kept["legal_basis"] for kept in report["retained"])
             for service, report in erased["services"].items()}
    assert "Kirjanpitolaki" in bases["billing"] and "444/2017" in bases["kyc"] and "Kirjanpitolaki" in bases["fleet"]
    assert any(kept["held_for"] for kept in erased["services"]["fleet"]["retained"])

    after = complete(admin.get(f"/persons/{pid}/export"))
    retaining = {service for service, report in erased["services"].items() if report["retained"]}
    for service in (SERVICES | {"gateway"}) - (retaining - {"identity", "marketing", "driver"}):
        text = json.dumps(after[service], ensure_ascii=False)
        for value in identifying_values(person, national_id):
            assert value not in text, (service, value)
    sms = {c["purpose"]: c["status"] for c in after["marketing"]["consents"]}
    assert sms["sms_marketing"] == "prohibited" and sms["email_marketing"] == "withdrawn"
    assert after["driver"]["location"]["items"] == []
    assert [f["phone"] for f in after["driver"]["fuelings"]["items"]] == [None]
    assert any(kept["data"].startswith("fuelings of vehicle") for kept in erased["services"]["driver"]["retained"])
    assert after["billing"]["profile"]["email"] is None and after["billing"]["profile"]["paper_address"] is None
    assert len(after["billing"]["invoices"]) == 1 and after["fleet"]["contracts"]["items"][0]["notes"] is None


def test_erasure_reaches_marketing_and_keeps_the_prohibition(admin, subject):
    """Identity erases first, then marketing by its erase_person RPC (erasure's one trigger).
    (A service that does not answer: tests/test_resilience.py.)"""
    person, _, client = subject
    pid = person["id"]
    assert pid in [m["person_id"] for m in admin.get("/marketing/audience", params={"channel": "email",
                                                                                    "limit": 200}).json()["items"]]
    response = admin.post(f"/persons/{pid}/erase")
    assert response.status_code == 200, response.text
    contact = wait_for(lambda: (admin.get(f"/marketing/contacts/{pid}").json().get("email", "x") is None
                                and admin.get(f"/marketing/contacts/{pid}").json()), timeout=10)
    assert (contact["first_name"], contact["phone"], contact["position"]) == (None, None, None)
    for channel in ("email", "sms", "phone"):
        members = admin.get("/marketing/audience", params={"channel": channel, "limit": 200}).json()["items"]
        assert pid not in [m["person_id"] for m in members]
    consents = {c["purpose"]: c["status"] for c in admin.get(f"/consents/{pid}").json()["consents"]}
    assert consents == {"location_tracking": "withdrawn", "email_marketing": "withdrawn", "profiling": "withdrawn",
                        "sms_marketing": "prohibited"}
    regrant = admin.put(f"/consents/{pid}/email_marketing", json={"status": "granted", "source": "staff"})
    assert regrant.status_code == 409 and regrant.json()["error"] == "person_erased"
    assert client.get("/me/consents").status_code == 401
