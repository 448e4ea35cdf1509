"""Billing through the gateway: profiles validated per method, the monthly run from fleet's
active contracts (idempotent, exact to the cent), invoices within scope."""
import datetime as dt
import uuid
from decimal import Decimal

from testing.data import PASSWORD, activate, contract_body, created, vehicle_body

PERIOD = dt.date.today().strftime("%Y-%m")


def test_profile_validation(admin, make_org):
    company = make_org()
    path = f"/billing-profiles/{company['id']}"
    for address in ("003712345678", "FI2112345600000786"):
        bad = admin.put(path, json={"method": "e_invoice", "e_invoice_address": address, "operator": "003723327487"})
        assert bad.status_code == 400 and "e_invoice_address" in bad.json()["details"], bad.text
    assert set(admin.put(path, json={"method": "e_invoice"}).json()["details"]) == {"e_invoice_address", "operator"}
    profile = admin.put(path, json={"method": "e_invoice", "e_invoice_address": "0037 " + company["business_id"]
                                    .replace("-", "") + " 100", "operator": "003723327487",
                                    "payment_terms_days": 21, "services": ["Open Maintenance Leasing"]})
    assert profile.status_code == 200, profile.text
    assert profile.json()["e_invoice_address"] == "0037" + company["business_id"].replace("-", "") + "100"
    assert admin.get(path).json()["payment_terms_days"] == 21
    assert admin.put(f"/billing-profiles/{uuid.uuid4()}", json={"method": "email", "email": "a@b.fi"}).status_code \
        == 404
    assert admin.get(f"/billing-profiles/{uuid.uuid4()}").status_code == 404


def test_monthly_run_is_idempotent_and_exact(admin, stack, make_org):
    company, other = make_org(), make_org()
    admin.put(f"/billing-profiles/{company['id']}", json={"method": "email", "email": "laskut@example.fi",
                                                          "payment_terms_days": 30})
    rents = [("523.40", "89.95", "12.50"), ("0.01", "0.01", "0.01"), ("999.99", "0.00", "7.77")]
    expected = Decimal("0")
    for rent, maintenance, fee in rents:
        car = created(admin.post("/vehicles", json=vehicle_body(company["id"])))
        contract = created(admin.post("/contracts", json=contract_body(
            car["id"], company["id"], lease_rent=rent, maintenance_budget=maintenance, account_fee=fee,
            starts_on=f"{PERIOD}-01", length_months=12)))
        activate(admin, contract["id"])
        expected += Decimal(contract["monthly_total"])
    not_active = created(admin.post("/vehicles", json=vehicle_body(company["id"])))
    created(admin.post("/contracts", json=contract_body(not_active["id"], company["id"])))
    car = created(admin.post("/vehicles", json=vehicle_body(other["id"])))
    activate(admin, created(admin.post("/contracts", json=contract_body(car["id"], other["id"],
                                                                        starts_on=f"{PERIOD}-01")))["id"])

    first = admin.post("/invoices/run", json={"period": PERIOD})
    assert first.status_code == 200, first.text
    second = admin.post("/invoices/run", json={"period": PERIOD})
    assert second.json()["created"] == 0 and second.json()["existing"] >= 2

    [invoice] = admin.get("/invoices", params={"customer_id": company["id"], "period": PERIOD}).json()["items"]
    assert Decimal(invoice["total"]) == expected and invoice["total"] == "1633.64"
    assert len(invoice["lines"]) == 3 and invoice["delivery_method"] == "email"
    assert sum(Decimal(line["amount"]) for line in invoice["lines"]) == expected
    assert dt.date.fromisoformat(invoice["due_date"]) - dt.date.fromisoformat(invoice["issue_date"]) == \
        dt.timedelta(days=30)

    username = f"fm-{uuid.uuid4().hex[:10]}"
    created(admin.post("/users", json={"username": username, "password": PASSWORD, "role": "fleet_manager",
                                       "scope": "company", "organisation_id": company["id"]}))
    manager = stack.client().login(username, PASSWORD)
    assert {i["customer_id"] for i in manager.get("/invoices").json()["items"]} == {company["id"]}
    assert manager.get(f"/invoices/{invoice['id']}").status_code == 200
    [others] = admin.get("/invoices", params={"customer_id": other["id"]}).json()["items"]
    assert manager.get(f"/invoices/{others['id']}").status_code == 404
    assert manager.get(f"/billing-profiles/{other['id']}").status_code == 404
    assert manager.post("/invoices/run", json={"period": PERIOD}).status_code == 404
    assert admin.post("/invoices/run", json={"period": "2026-13"}).status_code == 400
