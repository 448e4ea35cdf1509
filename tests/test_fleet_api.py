"""Fleet Manager through the gateway: scope per company or group, contracts, usage,
the aggregated vehicle (and its degraded answer) and the four reports as JSON and CSV."""
import csv
import datetime as dt
import io
import uuid

import pytest

from shared.waiting import wait_for
from testing.data import PASSWORD, activate, contract_body, created, vehicle_body
from testing.stack import start_stack
from tests.test_driver_api import trip


@pytest.fixture(scope="module")
def group(admin, stack):
    """A parent company with two subsidiaries (sisters), a vehicle each, and managers."""
    from testing.data import unique_business_id

    def org(name, parent=None):
        return created(admin.post("/organisations", json={"name": name, "business_id": unique_business_id(),
                                                          **({"parent_id": parent} if parent else {})}))

    parent = org("Konserni Oyj")
    child, sister = org("Tytär Oy", parent["id"]), org("Sisar Oy", parent["id"])
    vehicles = {key: created(admin.post("/vehicles", json=vehicle_body(o["id"])))
                for key, o in (("parent", parent), ("child", child), ("sister", sister))}

    def manager(scope, organisation):
        username = f"fm-{uuid.uuid4().hex[:10]}"
        created(admin.post("/users", json={"username": username, "password": PASSWORD, "role": "fleet_manager",
                                           "scope": scope, "organisation_id": organisation["id"]}))
        return stack.client().login(username, PASSWORD)

    return {"orgs": {"parent": parent, "child": child, "sister": sister}, "vehicles": vehicles,
            "company_manager": manager("company", child), "group_manager": manager("group", child)}


def plates(client, **params):
    response = client.get("/vehicles", params=params)
    assert response.status_code == 200, response.text
    return {v["registration_number"] for v in response.json()["items"]}


def test_company_manager_never_sees_the_sister_company_group_manager_does(group, admin):
    vehicles = group["vehicles"]
    assert plates(group["company_manager"]) == {vehicles["child"]["registration_number"]}
    assert plates(group["group_manager"]) == {v["registration_number"] for v in vehicles.values()}
    sister = vehicles["sister"]["id"]
    for path in (f"/vehicles/{sister}", f"/vehicles/{sister}/odometer", f"/vehicles/{sister}/service-events",
                 f"/vehicles/{sister}/history"):
        assert group["company_manager"].get(path).status_code == 404, path
        assert group["group_manager"].get(path).status_code == 200, path
    contract = created(admin.post("/contracts", json=contract_body(sister, group["orgs"]["sister"]["id"])))
    assert group["company_manager"].get(f"/contracts/{contract['id']}").status_code == 404
    assert group["group_manager"].get(f"/contracts/{contract['id']}").status_code == 200
    assert contract["id"] not in {c["id"] for c in group["company_manager"].get("/contracts").json()["items"]}
    # managers read, only staff write
    assert group["group_manager"].post("/vehicles", json=vehicle_body(group["orgs"]["child"]["id"])).status_code == 404
    assert group["group_manager"].patch(f"/contracts/{contract['id']}", json={"status": "terminated"}).status_code \
        == 404


def test_new_fleet_manager_logs_in_and_pages_its_vehicles_and_contracts(admin, stack, make_org):
    company = make_org()
    ids = [created(admin.post("/vehicles", json=vehicle_body(company["id"])))["id"] for _ in range(5)]
    for vehicle_id in ids:
        created(admin.post("/contracts", json=contract_body(vehicle_id, company["id"])))
    username = f"fm-{uuid.uuid4().hex[:10]}"
    created(admin.post("/users", json={"username": username, "password": PASSWORD, "role": "fleet_manager",
                                       "scope": "company", "organisation_id": company["id"]}))
    manager = stack.client().login(username, PASSWORD)
    for path in ("/vehicles", "/contracts"):
        seen, cursor = [], None
        while True:
            body = manager.get(path, params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
            assert len(body["items"]) <= 2
            seen += body["items"]
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert len(seen) == 5 and len({item["id"] for item in seen}) == 5, path
    assert manager.get("/vehicles", params={"cursor": "garbage"}).status_code == 400
    assert manager.get("/vehicles", params={"limit": 201}).status_code == 400


def test_vehicle_fields_validation_and_conflicts(admin, make_org):
    company = make_org()
    bad = admin.post("/vehicles", json=vehicle_body(company["id"], vin="WVWZZZ1JZXW00000I", vehicle_class="tank",
                                                    registration_number="12345", co2_g_per_km=-1))
    assert bad.status_code == 400
    assert {"vin", "vehicle_class", "registration_number", "co2_g_per_km"} <= set(bad.json()["details"])
    car = created(admin.post("/vehicles", json=vehicle_body(company["id"])))
    duplicate = admin.post("/vehicles", json=vehicle_body(company["id"],
                                                          registration_number=car["registration_number"].lower()))
    assert duplicate.status_code == 409 and duplicate.json()["error"] == "duplicate_registration_number"
    assert admin.post("/vehicles", data="x", headers={"Content-Type": "text/plain"}).status_code == 415


def test_contract_state_machine_and_decimals(admin, make_org):
    company = make_org()
    car = created(admin.post("/vehicles", json=vehicle_body(company["id"])))
    contract = created(admin.post("/contracts", json=contract_body(car["id"], company["id"])))
    assert (contract["monthly_total"], contract["lease_rent"], contract["status"]) == ("625.85", "523.40", "ordered")
    assert contract["ends_on"] == "2028-12-31" and contract["remaining_months"] <= 36
    path = f"/contracts/{contract['id']}"
    illegal = admin.patch(path, json={"status": "ended"})
    assert illegal.status_code == 409 and illegal.json()["details"]["allowed"] == ["awaiting_delivery", "terminated"]
    activate(admin, contract["id"])
    assert admin.get(f"/vehicles/{car['id']}").json()["status"] == "in_use"
    assert admin.patch(path, json={"maintenance_budget": "100.005"}).status_code == 400
    changed = admin.patch(path, json={"maintenance_budget": "100.01"}).json()
    assert changed["monthly_total"] == "635.91"
    assert admin.patch(path, json={"status": "ended"}).json()["remaining_months"] == 0
    assert admin.patch(path, json={"status": "active"}).status_code == 409
    assert admin.post("/contracts", json=contract_body(car["id"], company["id"], lease_rent="1.1")).json()[
        "lease_rent"] == "1.10"
    as_float = admin.post("/contracts", json=contract_body(car["id"], company["id"], lease_rent=1.1))
    assert as_float.status_code == 400 and "lease_rent" in as_float.json()["details"]  # money is a decimal string


def test_odometer_service_events_deliveries_and_dealerships(admin, make_org):
    company = make_org()
    car = created(admin.post("/vehicles", json=vehicle_body(company["id"], status="awaiting_delivery")))
    odometer = f"/vehicles/{car['id']}/odometer"
    created(admin.post(odometer, json={"km": 15000, "read_on": "2026-06-01", "source": "service_invoice"}))
    backwards = admin.post(odometer, json={"km": 14000, "read_on": "2026-07-01", "source": "customer"})
    assert backwards.status_code == 409 and backwards.json()["error"] == "odometer_backwards"
    assert admin.post(odometer, json={"km": 16000, "read_on": "2026-07-01", "source": "gps"}).status_code == 400
    created(admin.post(f"/vehicles/{car['id']}/service-events", json={
        "occurred_on": "2026-06-01", "kind": "maintenance", "place_name": "Huolto Espoo", "km": 15000}))
    events = admin.get(f"/vehicles/{car['id']}/service-events").json()["items"]
    assert [(e["kind"], e["place_name"], e["km"]) for e in events] == [("maintenance", "Huolto Espoo", 15000)]

    dealership = created(admin.post("/dealerships", json={
        "name": "Autotalo Oy", "street_address": "Autotie 1", "postal_code": "02100", "city": "Espoo",
        "seller_name": "Myyjä Mikko", "phone": "040 1234567", "email": "mikko@autotalo.fi"}))
    assert dealership["phone"] == "+358401234567"
    assert admin.post("/dealerships", json={"name": "x", "email": "not-an-email"}).status_code == 400
    delivery = created(admin.post("/deliveries", json={
        "vehicle_id": car["id"], "dealership_id": dealership["id"], "order_number": "PO-77",
        "order_info": "Skoda Octavia Combi, white", "estimated_delivery_on": "2027-01-15"}))
    pending = admin.get("/deliveries", params={"pending": "true"}).json()["items"]
    assert delivery["id"] in {d["id"] for d in pending}
    assert admin.get("/deliveries", params={"contract_id": str(uuid.uuid4())}).json()["items"] == []
    confirmed = admin.patch(f"/deliveries/{delivery['id']}", json={"confirmed_delivery_on": "2027-01-20"}).json()
    assert confirmed["confirmed_delivery_on"] == "2027-01-20"
    detail = admin.get(f"/vehicles/{car['id']}").json()
    assert detail["delivery"]["id"] == delivery["id"] and detail["latest_odometer"]["km"] == 15000


def test_aggregated_vehicle_has_driver_usage_and_name(admin, make_org, make_person, make_user):
    company = make_org()
    person = make_person(first_name="Kaisa")
    _, driver = make_user("driver", person_id=person["id"])
    car = created(admin.post("/vehicles", json=vehicle_body(company["id"], driver_person_id=person["id"])))
    contract = created(admin.post("/contracts", json=contract_body(car["id"], company["id"])))
    activate(admin, contract["id"])
    wait_for(lambda: driver.get("/me").json().get("registration_number") == car["registration_number"], timeout=15)
    assert driver.post("/me/trips", json=trip(odometer_start=20000, odometer_end=20042)).status_code == 201
    wait_for(lambda: admin.get(f"/vehicles/{car['id']}").json()["latest_odometer"], timeout=15)
    detail = admin.get(f"/vehicles/{car['id']}").json()
    assert detail["degraded"] == []
    assert detail["driver"] == {"person_id": person["id"], "first_name": "Kaisa", "last_name": person["last_name"]}
    assert detail["contract"]["id"] == contract["id"] and detail["contract"]["monthly_total"] == "625.85"
    assert detail["latest_odometer"]["km"] == 20042 and detail["latest_odometer"]["source"] == "driver_log"
    assert detail["usage"]["trips"]["count"] == 1 and detail["usage"]["trips"]["work_km"] == 42
    assert admin.get(f"/vehicles/{uuid.uuid4()}").status_code == 404
    assert driver.get(f"/vehicles/{car['id']}").status_code == 404


def rows_of(response):
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_reports_json_and_csv(admin, stack, make_org, publish_fueling):
    company = make_org()
    username = f"fm-{uuid.uuid4().hex[:10]}"
    created(admin.post("/users", json={"username": username, "password": PASSWORD, "role": "fleet_manager",
                                       "scope": "company", "organisation_id": company["id"]}))
    manager = stack.client().login(username, PASSWORD)
    today = dt.date.today()
    ending = created(admin.post("/vehicles", json=vehicle_body(company["id"], cost_center="SALES",
                                                               co2_g_per_km=100)))
    ending_contract = created(admin.post("/contracts", json=contract_body(
        ending["id"], company["id"], starts_on=(today - dt.timedelta(days=700)).isoformat(), length_months=24)))
    activate(admin, ending_contract["id"])
    heavy = created(admin.post("/vehicles", json=vehicle_body(company["id"], cost_center="SALES", co2_g_per_km=151)))
    heavy_contract = created(admin.post("/contracts", json=contract_body(
        heavy["id"], company["id"], starts_on=(today - dt.timedelta(days=365)).isoformat(), length_months=36,
        included_km=30000, start_km=0)))
    activate(admin, heavy_contract["id"])
    created(admin.post(f"/vehicles/{heavy['id']}/odometer", json={"km": 20000, "read_on": today.isoformat(),
                                                                   "source": "customer"}))
    created(admin.post("/vehicles", json=vehicle_body(company["id"], cost_center="R&D", co2_g_per_km=0,
                                                      power_source="electric")))
    for liters, amount in (("40.10", "80.20"), ("10.05", "20.11")):
        publish_fueling(heavy["id"], liters, amount, "2026-10-03T08:00:00+00:00")

    json_rows = manager.get("/reports/contracts-ending", params={"days": 60}).json()["items"]
    assert [r["contract_id"] for r in json_rows] == [ending_contract["id"]]
    csv_rows = rows_of(manager.get("/reports/contracts-ending", params={"days": 60},
                                   headers={"Accept": "text/csv"}))
    assert [(r["registration_number"], r["monthly_total"], r["cost_center"]) for r in csv_rows] == [
        (ending["registration_number"], "625.85", "SALES")]

    overrun = {r["contract_id"]: r for r in rows_of(manager.get("/reports/km-overrun",
                                                                headers={"Accept": "text/csv"}))}
    row = overrun[heavy_contract["id"]]
    term_days = (dt.date.fromisoformat(heavy_contract["ends_on"]) - today).days + 366
    projected = round(20000 * term_days / 365)
    assert (row["latest_km"], row["driven_km"], row["allowed_km_to_date"]) == (
        "20000", "20000", str(round(30000 * 365 / term_days)))
    assert (row["projected_km_at_end"], row["projected_overrun_km"]) == (str(projected), str(projected - 30000))

    co2 = {r["cost_center"]: r for r in rows_of(manager.get("/reports/co2-by-cost-center",
                                                            headers={"Accept": "text/csv"}))}
    assert (co2["SALES"]["vehicle_count"], co2["SALES"]["total_co2_g_per_km"],
            co2["SALES"]["average_co2_g_per_km"]) == ("2", "251", "125.5")
    assert (co2["R&D"]["vehicle_count"], co2["R&D"]["total_co2_g_per_km"]) == ("1", "0")

    def fuel_rows():
        return [r for r in rows_of(manager.get("/reports/fuel", params={"from": "2026-10", "to": "2026-10"},
                                               headers={"Accept": "text/csv"})) if r["vehicle_id"] == heavy["id"]]
    wait_for(lambda: fuel_rows() and fuel_rows()[0]["fuelings"] == "2", timeout=20)
    assert [(r["month"], r["liters"], r["amount_eur"]) for r in fuel_rows()] == [("2026-10", "50.15", "100.31")]
    assert manager.get("/reports/fuel", params={"from": "2026-13"}).status_code == 400
    assert manager.get("/reports/contracts-ending", params={"days": "many"}).status_code == 400


@pytest.fixture
def publish_fueling(stack):
    """driver.fueling_recorded as the driver service sends it (also twice: fleet stores it once)."""
    from nameko.standalone.events import event_dispatcher

    dispatch = event_dispatcher(uri=stack.amqp_uri)

    def publish(vehicle_id, liters, amount, fueled_at):
        payload = {"fueling_id": str(uuid.uuid4()), "event_id": str(uuid.uuid4()), "vehicle_id": vehicle_id,
                   "registration_number": "ABC-123", "person_id": None, "product": "Diesel", "company": "Neste",
                   "municipality": "Espoo", "station": "Neste Espoo", "liters": liters, "amount_eur": amount,
                   "fueled_at": fueled_at}
        dispatch("driver", "fueling_recorded", {"fuelings": [payload]})
        dispatch("driver", "fueling_recorded", {"fuelings": [payload]})
    return publish


def test_aggregated_vehicle_degrades_when_driver_does_not_answer():
    stack = start_stack(extra_env={"SECTO_RPC_TIMEOUT": "5"})
    try:
        admin = stack.admin()
        from testing.data import unique_business_id
        organisation = created(admin.post("/organisations", json={"name": "Degraded Oy",
                                                                  "business_id": unique_business_id()}))
        car = created(admin.post("/vehicles", json=vehicle_body(organisation["id"])))
        stack.stack.stop_service("driver")
        # a gateway that waits for the stopped driver without SECTO_RPC_TIMEOUT hangs past this deadline
        response = admin.get(f"/vehicles/{car['id']}", timeout=30)
        assert response.status_code == 200, response.text
        assert response.json()["degraded"] == ["driver"] and response.json()["id"] == car["id"]
        assert response.json()["usage"] is None
    finally:
        stack.stop()
