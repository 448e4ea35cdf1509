"""The Fleet Manager portal in Chromium: a company's manager sees its own cars only (404
page for the sister company's), in Finnish and English formats; dashboard charts, reports
and their CSV, plate search, users, settings, and a group manager narrowing to one company."""
import datetime as dt
import re

import pytest
import requests
from playwright.sync_api import expect

from tests.test_fleet_api import activate, contract_body, created, vehicle_body
from tests.web.conftest import assert_accessible, login, text_of

SOON = dt.date.today() + dt.timedelta(days=20)


@pytest.fixture(scope="module")
def fleet(admin):
    from tests.conftest import unique_business_id

    def org(name, parent=None):
        return created(admin.post("/organisations", json={"name": name, "business_id": unique_business_id(),
                                                          **({"parent_id": parent} if parent else {})}))

    parent = org("Emo Konserni Oyj")
    own, sister = org("Oma Oy", parent["id"]), org("Sisko Oy", parent["id"])
    car = created(admin.post("/vehicles", json=vehicle_body(own["id"], cost_center="CC-OMA", make="Toyota",
                                                            model="Corolla")))
    other = created(admin.post("/vehicles", json=vehicle_body(sister["id"], cost_center="CC-SISKO")))
    # a 12-month contract that ends within the default lead time
    starts = SOON.replace(year=SOON.year - 1) + dt.timedelta(days=1)
    contract = created(admin.post("/contracts", json=contract_body(
        car["id"], own["id"], starts_on=starts.isoformat(), length_months=12, lease_rent="1234.50")))
    activate(admin, contract["id"])
    other_contract = created(admin.post("/contracts", json=contract_body(other["id"], sister["id"])))
    created(admin.post(f"/vehicles/{car['id']}/odometer", json={"km": 25000, "read_on": dt.date.today().isoformat(),
                                                                "source": "customer"}))
    created(admin.post(f"/vehicles/{car['id']}/service-events", json={
        "occurred_on": "2026-06-01", "kind": "maintenance", "place_name": "Huolto Espoo", "km": 15000}))
    dealership = created(admin.post("/dealerships", json={"name": "Autotalo Oy", "seller_name": "Myyjä Mikko",
                                                          "phone": "040 1234567", "email": "mikko@autotalo.fi"}))
    pending = created(admin.post("/vehicles", json=vehicle_body(own["id"], status="awaiting_delivery")))
    created(admin.post("/deliveries", json={"vehicle_id": pending["id"], "dealership_id": dealership["id"],
                                            "order_number": "PO-1", "estimated_delivery_on": "2027-01-15"}))
    return {"own": own, "sister": sister, "parent": parent, "car": car, "other": other, "contract": contract,
            "other_contract": other_contract, "pending": pending, "dealership": dealership}


@pytest.fixture
def manager(account, fleet):
    username, password, _ = account("fleet_manager", organisation_id=fleet["own"]["id"], scope="company")
    return username, password


def test_dashboard_shows_the_company_at_a_glance_with_charts_and_tables(page, manager, fleet):
    login(page, *manager)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    main = text_of(page)
    assert fleet["car"]["registration_number"] in main  # its contract ends within 90 days
    assert fleet["pending"]["registration_number"] in main  # awaiting delivery
    assert fleet["other"]["registration_number"] not in main
    assert page.locator("main svg[role=img]").count() == 2
    assert "CC-OMA" in main and "CC-SISKO" not in main
    assert_accessible(page)


def test_vehicles_plate_search_detail_and_formats_in_both_languages(page, manager, fleet):
    car, other = fleet["car"], fleet["other"]
    login(page, *manager, lang="fi")
    page.goto("/fleet/vehicles")
    table = text_of(page)
    assert car["registration_number"] in table and other["registration_number"] not in table
    page.get_by_label("Rekisteritunnus").fill(car["registration_number"])
    page.get_by_role("button", name="Hae").click()
    expect(page).to_have_url(re.compile(rf"/fleet/vehicles\?q={car['registration_number']}"))
    expect(page.locator("#vehicle-rows tbody tr")).to_have_count(1)
    assert_accessible(page)
    page.get_by_role("link", name=car["registration_number"]).click()
    detail = text_of(page)
    assert car["vin"] in detail and "Huolto Espoo" in detail and "25 000" in detail
    assert "1 234,50 €" in detail  # lease rent, Finnish format
    assert f"{dt.date.today().day}.{dt.date.today().month}.{dt.date.today().year}" in detail
    assert_accessible(page)
    page.goto(f"/fleet/vehicles/{car['id']}?lang=en")
    detail = text_of(page)
    assert "€1,234.50" in detail and dt.date.today().isoformat() in detail and "25,000" in detail


def test_another_companys_objects_are_the_404_page(page, manager, fleet):
    login(page, *manager)
    for path in (f"/fleet/vehicles/{fleet['other']['id']}", f"/fleet/contracts/{fleet['other_contract']['id']}",
                 f"/fleet/reports/co2-by-cost-center?organisation_id={fleet['sister']['id']}",
                 f"/fleet/?organisation_id={fleet['sister']['id']}"):
        response = page.goto(path)
        assert response.status == 404, path
        expect(page.get_by_role("heading", name="Page not found")).to_be_visible()


def test_every_report_is_a_page_and_a_csv_download(page, manager, fleet, base_url):
    login(page, *manager)
    for name, expected in (("contracts-ending", fleet["car"]["registration_number"]),
                           ("km-overrun", fleet["car"]["registration_number"]), ("co2-by-cost-center", "CC-OMA"),
                           ("fuel", None), ("cost-per-km", fleet["car"]["registration_number"])):
        response = page.goto(f"/fleet/reports/{name}")
        assert response.status == 200, name
        if expected:
            assert expected in text_of(page), name
        with page.expect_download() as download:
            page.get_by_role("link", name="Download CSV").click()
        content = open(download.value.path(), encoding="utf-8-sig").read()
        assert content.splitlines()[0], name  # a header row
        if expected:
            assert expected in content, name
        assert fleet["other"]["registration_number"] not in content
    assert_accessible(page)


def test_users_are_deactivated_and_reactivated(page, manager, fleet, account, admin, make_person):
    driver_name, _, driver = account("driver", organisation_id=fleet["own"]["id"], person_id=make_person()["id"])
    login(page, *manager)
    page.goto("/fleet/users")
    row = page.get_by_role("row").filter(has_text=driver_name)
    row.get_by_role("button", name="Deactivate").click()
    expect(page.get_by_role("status")).to_contain_text("Account deactivated")
    assert admin.get(f"/users/{driver['id']}").json()["active"] is False
    page.get_by_role("row").filter(has_text=driver_name).get_by_role("button", name="Reactivate").click()
    assert admin.get(f"/users/{driver['id']}").json()["active"] is True
    assert_accessible(page)


def test_the_lead_time_setting_changes_the_dashboard(page, account, make_org, admin):
    company = make_org()
    username, password, _ = account("fleet_manager", organisation_id=company["id"], scope="company")
    login(page, username, password)
    page.goto("/fleet/settings")
    page.get_by_label("Remind of contracts ending (days before)").fill("30")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Settings saved")
    page.goto("/fleet/")
    expect(page.get_by_role("heading", name="Contracts ending within 30 days")).to_be_visible()


def test_a_refused_setting_is_explained_next_to_its_field(page, account, make_org):
    company = make_org()
    username, password, _ = account("fleet_manager", organisation_id=company["id"], scope="company")
    login(page, username, password)
    page.goto("/fleet/settings")
    page.locator("form.narrow").evaluate("form => form.noValidate = true")  # past the browser's own check
    days = page.get_by_label("Remind of contracts ending (days before)")
    days.fill("0")
    page.get_by_role("button", name="Save").click()
    expect(days).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#contract_reminder_days-error")).not_to_be_empty()
    assert_accessible(page)


def test_group_manager_narrows_pages_to_one_company(page, account, fleet):
    username, password, _ = account("fleet_manager", organisation_id=fleet["parent"]["id"], scope="group")
    login(page, username, password)
    page.goto("/fleet/vehicles")
    rows = text_of(page)
    assert fleet["car"]["registration_number"] in rows and fleet["other"]["registration_number"] in rows
    page.get_by_label("Company", exact=True).select_option(label="Sisko Oy")
    page.get_by_role("button", name="Show").first.click()
    rows = text_of(page, "#vehicle-rows")
    assert fleet["other"]["registration_number"] in rows and fleet["car"]["registration_number"] not in rows


def test_a_page_without_csrf_token_is_refused(manager, base_url, fleet):
    session = requests.Session()
    session.get(f"{base_url}/login", timeout=10)
    response = session.post(f"{base_url}/fleet/users/{fleet['car']['id']}/active", data={"active": "false"},
                            timeout=10)
    assert response.status_code == 400
