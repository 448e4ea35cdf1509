"""The Fleet Manager dashboard's API: vehicles by status, fuel by month, cost per km (per
vehicle and per cost center) and the per-company contract reminder lead time; each
narrowed to one company of a group with ?organisation_id=, never beyond the caller's scope."""
import csv
import io
import uuid

from testing.data import PASSWORD, activate, contract_body, created, vehicle_body


def manager(admin, stack, organisation, scope="company"):
    username = f"fm-{uuid.uuid4().hex[:10]}"
    created(admin.post("/users", json={"username": username, "password": PASSWORD, "role": "fleet_manager",
                                       "scope": scope, "organisation_id": organisation["id"]}))
    return stack.client().login(username, PASSWORD)


def test_cost_per_km_adds_lease_maintenance_and_fuel_per_driven_km(admin, stack, make_org):
    company = make_org()
    car = created(admin.post("/vehicles", json=vehicle_body(company["id"], cost_center="CC-COST")))
    contract = created(admin.post("/contracts", json=contract_body(
        car["id"], company["id"], starts_on="2026-01-01", length_months=36, lease_rent="500.00",
        maintenance_budget="100.00", account_fee="10.00", start_km=1000)))
    activate(admin, contract["id"])
    for km, read_on in ((4000, "2026-03-31"), (7000, "2026-06-30")):
        created(admin.post(f"/vehicles/{car['id']}/odometer", json={"km": km, "read_on": read_on,
                                                                    "source": "customer"}))
    fleet = manager(admin, stack, company)
    rows = fleet.get("/reports/cost-per-km", params={"from": "2026-01", "to": "2026-06"}).json()["items"]
    row = next(r for r in rows if r["vehicle_id"] == car["id"])
    # 6 months × (500 + 10) lease, 6 × 100 maintenance, no fuel; 7000 - 1000 km
    assert (row["months"], row["lease_eur"], row["maintenance_eur"], row["fuel_eur"]) == (6, "3060.00", "600.00",
                                                                                          "0.00")
    assert (row["total_eur"], row["driven_km"], row["cost_per_km"]) == ("3660.00", 6000, "0.61")
    by_center = fleet.get("/reports/cost-per-km-by-cost-center",
                          params={"from": "2026-01", "to": "2026-06"}).json()["items"]
    assert {(r["cost_center"], r["total_eur"], r["driven_km"]) for r in by_center} == {("CC-COST", "3660.00", 6000)}
    assert fleet.get("/reports/cost-per-km", params={"from": "2026-07", "to": "2026-01"}).status_code == 400
    text = fleet.get("/reports/cost-per-km", params={"from": "2026-01", "to": "2026-06"},
                     headers={"Accept": "text/csv"}).content.decode("utf-8-sig")
    assert next(csv.DictReader(io.StringIO(text)))["cost_per_km"] == "0.61"


def test_dashboard_reports_are_scoped_and_narrowed_to_one_company(admin, stack, make_org):
    parent = make_org()
    child, sister = make_org(parent_id=parent["id"]), make_org(parent_id=parent["id"])
    for organisation, status in ((child, "in_use"), (sister, "ordered"), (sister, "ordered")):
        created(admin.post("/vehicles", json=vehicle_body(organisation["id"], status=status)))
    group = manager(admin, stack, child, scope="group")
    company = manager(admin, stack, child)

    def counts(client, **params):
        response = client.get("/reports/vehicles-by-status", params=params)
        assert response.status_code == 200, response.text
        return {row["status"]: row["vehicle_count"] for row in response.json()["items"]}

    assert counts(company) == {"in_use": 1}
    assert counts(group) == {"in_use": 1, "ordered": 2}
    assert counts(group, organisation_id=sister["id"]) == {"ordered": 2}
    assert company.get("/reports/vehicles-by-status", params={"organisation_id": sister["id"]}).status_code == 404
    assert company.get("/reports/fuel-by-month").json() == {"items": [], "next_cursor": None}


def test_contract_reminder_lead_time_is_a_company_setting(admin, stack, make_org):
    company, other = make_org(), make_org()
    fleet = manager(admin, stack, company)
    assert fleet.get(f"/fleet-settings/{company['id']}").json()["contract_reminder_days"] == 90
    saved = fleet.put(f"/fleet-settings/{company['id']}", json={"contract_reminder_days": 45})
    assert saved.status_code == 200 and saved.json()["contract_reminder_days"] == 45
    assert fleet.get(f"/fleet-settings/{company['id']}").json()["contract_reminder_days"] == 45
    bad = fleet.put(f"/fleet-settings/{company['id']}", json={"contract_reminder_days": 0})
    assert bad.status_code == 400 and "contract_reminder_days" in bad.json()["details"]
    assert fleet.get(f"/fleet-settings/{other['id']}").status_code == 404
    assert fleet.put(f"/fleet-settings/{other['id']}", json={"contract_reminder_days": 10}).status_code == 404
