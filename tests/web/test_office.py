"""The back office (issue 17) in a real Chromium: search by name and by henkilötunnus (never
in a URL), the person 360° page, export, erasure, KYC document upload and download, an
invoice run, a contract moved through its states, and no /office/ path for other roles."""
import json
import re
import uuid

import pytest
from playwright.sync_api import expect

from testing.data import contract_body, unique_national_id, vehicle_body
from tests.web.conftest import assert_accessible, login, text_of

EXPORT_PARTS = {"identity", "fleet", "driver", "billing", "kyc", "marketing", "gateway"}
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def staff(page, account):
    username, password, _ = account("staff")
    login(page, username, password)
    return page


@pytest.fixture
def subject(make_person):
    national_id = unique_national_id()
    word = f"Zq{uuid.uuid4().hex[:8]}"
    return make_person(first_name="Kaisa", last_name=f"Koivisto{word}", national_id=national_id), national_id, word


def test_search_by_name_and_by_national_id_which_never_enters_a_url(staff, admin, subject):
    person, national_id, word = subject
    urls = []
    staff.on("request", lambda request: urls.append(request.url))
    staff.goto("/office/?lang=en")
    staff.get_by_label("Name, email, phone or Y-tunnus").fill(word)
    staff.get_by_role("button", name="Search", exact=True).click()
    staff.get_by_role("link", name=f"Kaisa Koivisto{word}").click()
    expect(staff).to_have_url(re.compile(f"/office/persons/{person['id']}$"))

    staff.goto("/office/?lang=en")
    staff.get_by_label("National identity number").fill(national_id)
    staff.get_by_role("button", name="Find person").click()
    expect(staff).to_have_url(re.compile(f"/office/persons/{person['id']}$"))
    expect(staff.get_by_role("heading", level=1)).to_have_text(f"Kaisa Koivisto{word}")
    assert urls and not [url for url in urls if national_id in url or national_id.lower() in url.lower()]


def test_search_page_is_finnish_by_default(staff, subject):
    _, _, word = subject
    staff.goto("/office/?lang=fi")
    expect(staff.get_by_label("Henkilötunnus")).to_be_visible()
    staff.get_by_label("Nimi, sähköposti, puhelin tai Y-tunnus").fill(word)
    staff.get_by_role("button", name="Hae", exact=True).click()
    expect(staff.get_by_role("link", name=re.compile(word))).to_be_visible()
    assert_accessible(staff)


def test_person_page_shows_the_masked_national_id_and_is_accessible(staff, subject):
    person, national_id, _ = subject
    staff.goto(f"/office/persons/{person['id']}?lang=en")
    main = text_of(staff)
    assert national_id[:7] + "****" in main and national_id not in staff.content()
    for heading in ("Contact data", "Roles", "Customer relationships", "Accounts", "Consents", "Vehicles driven",
                    "Invoices", "KYC cases", "Access log"):
        expect(staff.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    assert_accessible(staff)


def test_edit_form_shows_the_api_validation_message_next_to_the_field(staff, subject):
    person, _, _ = subject
    staff.goto(f"/office/persons/{person['id']}?lang=en")
    staff.get_by_label("Postal code").fill("123")
    staff.get_by_role("button", name="Save", exact=True).first.click()
    expect(staff.locator("#postal_code-error")).to_contain_text("5")
    staff.get_by_label("Postal code").fill("00100")
    staff.get_by_role("button", name="Save", exact=True).first.click()
    expect(staff.get_by_role("status")).to_contain_text("Saved")


def test_billing_form_requires_what_the_method_needs(staff, make_org):
    company = make_org()
    staff.goto(f"/office/billing/{company['id']}?lang=en")
    staff.get_by_label("Invoicing method").select_option("email")
    expect(staff.get_by_label("Invoice email")).to_have_attribute("required", "")
    expect(staff.get_by_label("Operator")).not_to_have_attribute("required", "")
    staff.get_by_role("button", name="Save billing profile").click()
    expect(staff.locator("#email-error")).to_contain_text("Required for method email")
    staff.get_by_label("Invoice email").fill("laskut@example.fi")
    staff.get_by_role("button", name="Save billing profile").click()
    expect(staff.get_by_role("status")).to_contain_text("Billing profile saved")
    assert_accessible(staff)


def test_office_pages_have_no_serious_accessibility_violations(staff, admin, make_org, make_person):
    parent = make_org()
    company = make_org(parent_id=parent["id"])
    vehicle = admin.post("/vehicles", json=vehicle_body(company["id"])).json()
    contract = admin.post("/contracts", json=contract_body(vehicle["id"], company["id"])).json()
    case = admin.post("/kyc/cases", json={"customer_id": company["id"]}).json()
    for path in ("/office/", f"/office/organisations/{company['id']}", f"/office/contracts/{contract['id']}",
                 f"/office/vehicles/{vehicle['id']}", f"/office/kyc/{case['id']}", "/office/invoices",
                 "/office/contracts", "/office/deliveries", "/office/dealerships", "/office/marketing",
                 f"/office/persons/{make_person()['id']}/erase"):
        response = staff.goto(path)
        assert response.status == 200, path
        assert_accessible(staff)


def test_export_downloads_all_seven_parts(staff, subject):
    person, _, _ = subject
    staff.goto(f"/office/persons/{person['id']}?lang=en")
    with staff.expect_download() as download:
        staff.get_by_role("link", name="Export").click()
    document = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert EXPORT_PARTS <= set(document) and document["person_id"] == person["id"]


def test_erase_asks_for_confirmation_then_shows_the_report(staff, admin, subject):
    person, _, _ = subject
    staff.goto(f"/office/persons/{person['id']}?lang=en")
    staff.get_by_role("link", name="Erase").click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text("Erase")
    expect(staff.get_by_role("heading", name="Will be kept").first).to_be_visible()
    assert admin.get(f"/persons/{person['id']}").json()["first_name"] == "Kaisa"  # the preview erased nothing
    staff.get_by_role("button", name="Erase permanently").click()  # not confirmed: the browser stops it
    expect(staff.get_by_role("heading", level=1)).not_to_have_text("Erasure report")
    staff.get_by_label("I confirm the erasure of this person").check()
    staff.get_by_role("button", name="Erase permanently").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Erasure report")
    for service in ("identity", "billing", "kyc", "marketing"):
        expect(staff.get_by_role("heading", name=service, exact=True)).to_be_visible()
    expect(staff.get_by_role("columnheader", name="Legal basis").first).to_be_visible()
    assert admin.get(f"/persons/{person['id']}").json()["first_name"] == "Erased"
    erasures = [entry for entry in admin.get(f"/persons/{person['id']}/access-log", params={"limit": 200}
                                             ).json()["items"] if entry["what"] == "erase_person"]
    assert len(erasures) == 1


def test_kyc_document_upload_and_download(staff, admin, make_org, tmp_path):
    case = admin.post("/kyc/cases", json={"customer_id": make_org()["id"]}).json()
    upload = tmp_path / "passport.png"
    upload.write_bytes(PNG)
    staff.goto(f"/office/kyc/{case['id']}?lang=en")
    staff.get_by_label("Document type").select_option("passport")
    staff.get_by_label("Document number").fill("XP1234567")
    staff.get_by_label("Issuing country").fill("fi")
    staff.get_by_role("button", name="Save").click()
    expect(staff.get_by_role("status")).to_contain_text("Saved")
    assert admin.get(f"/kyc/cases/{case['id']}").json()["document_country"] == "FI"
    staff.get_by_label("Document file (PDF, JPEG or PNG, at most 10 MB)").set_input_files(str(upload))
    staff.get_by_role("button", name="Upload").click()
    expect(staff.get_by_role("status")).to_contain_text("Document file stored")
    with staff.expect_download() as download:
        staff.get_by_role("link", name="Download document").click()
    assert open(download.value.path(), "rb").read() == PNG
    text = tmp_path / "not-a-document.png"
    text.write_bytes(b"just text")
    staff.get_by_label("Document file (PDF, JPEG or PNG, at most 10 MB)").set_input_files(str(text))
    staff.get_by_role("button", name="Upload").click()
    expect(staff.get_by_role("status")).to_contain_text("Only PDF, JPEG or PNG")


def test_invoice_run_for_a_period_then_its_lines(staff, admin, make_org):
    company = make_org()
    vehicle = admin.post("/vehicles", json=vehicle_body(company["id"])).json()
    contract = admin.post("/contracts", json=contract_body(vehicle["id"], company["id"], starts_on="2030-01-01",
                                                           length_months=12)).json()
    for status in ("awaiting_delivery", "active"):
        assert admin.patch(f"/contracts/{contract['id']}", json={"status": status}).status_code == 200
    staff.goto("/office/invoices?lang=en")
    staff.get_by_label("Period", exact=True).first.fill("2030-03")
    staff.get_by_role("button", name="Run invoices").click()
    expect(staff.get_by_role("status")).to_contain_text("Period 2030-03")
    staff.goto(f"/office/invoices?lang=en&customer_id={company['id']}&period=2030-03")
    staff.locator("main table a").first.click()
    expect(staff.get_by_role("table")).to_contain_text(vehicle["registration_number"])


def test_contract_moves_through_its_states_with_the_buttons(staff, admin, make_org):
    company = make_org()
    vehicle = admin.post("/vehicles", json=vehicle_body(company["id"])).json()
    contract = admin.post("/contracts", json=contract_body(vehicle["id"], company["id"])).json()
    staff.goto(f"/office/contracts/{contract['id']}?lang=en")
    for label, status in (("Move to awaiting delivery", "awaiting_delivery"), ("Move to active", "active"),
                          ("Move to ended", "ended")):
        staff.get_by_role("button", name=label).click()
        expect(staff.get_by_role("status")).to_contain_text("Contract is now")
        assert admin.get(f"/contracts/{contract['id']}").json()["status"] == status
    expect(staff.locator("#next-steps")).to_contain_text("No further steps")


def office_paths():
    """Every /office/ rule of the app, with made-up ids, and its methods."""
    from web import create_app
    app = create_app({"SECRET_KEY": "x"})
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/office"):
            path = re.sub(r"<uuid:\w+>", str(uuid.uuid4()), rule.rule)
            yield path, "GET" if "GET" in rule.methods else "POST"


@pytest.mark.parametrize("role", ["fleet_manager", "driver"])
def test_other_roles_get_404_or_the_login_page_on_every_office_path(page, account, make_org, make_person, role):
    fields = ({"organisation_id": make_org()["id"]} if role == "fleet_manager"
              else {"person_id": make_person()["id"]})
    username, password, _ = account(role, **fields)
    login(page, username, password)
    page.goto("/login?lang=en")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    checked = 0
    for path, method in office_paths():
        if method == "GET":
            response = page.request.get(path, max_redirects=0)
        else:
            response = page.request.post(path, form={"csrf_token": token}, max_redirects=0)
        login_redirect = response.status in (302, 303) and "/login" in response.headers.get("location", "")
        assert response.status == 404 or login_redirect, f"{method} {path}: {response.status}"
        checked += 1
    assert checked >= 30


def test_staff_create_a_vehicle_and_record_odometer_and_service_events(staff, make_org):
    company = make_org()
    plate = vehicle_body(company["id"])["registration_number"]
    staff.goto(f"/office/vehicles/new?lang=en&user_organisation_id={company['id']}")
    staff.get_by_label("Registration number").fill(plate)
    staff.get_by_label("VIN").fill("WVWZZZ1JZXW00000I")  # I is not allowed in a VIN: the API says so
    staff.get_by_label("Make").fill("Skoda")
    staff.get_by_label("Model").fill("Octavia")
    staff.get_by_role("button", name="Save").click()
    expect(staff.locator("#vin-error")).to_be_visible()
    staff.get_by_label("VIN").fill("WVWZZZ1JZXW000001")
    staff.get_by_role("button", name="Save").click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text(plate)
    staff.get_by_label("Kilometres").first.fill("12000")
    staff.get_by_label("Read on").fill("2026-11-01")
    staff.get_by_role("button", name="Add reading").click()
    expect(staff.get_by_role("status")).to_contain_text("Added")
    staff.get_by_label("Kilometres").first.fill("11000")
    staff.get_by_label("Read on").fill("2026-11-02")
    staff.get_by_role("button", name="Add reading").click()
    expect(staff.locator("main .notice").first).to_be_visible()
    expect(staff.get_by_role("table").first).to_contain_text("12")
    staff.get_by_label("Date", exact=True).fill("2026-11-03")
    staff.get_by_label("Place").fill("Huolto Oy")
    staff.get_by_role("button", name="Add service event").click()
    expect(staff.get_by_role("status")).to_contain_text("Added")
    expect(staff.get_by_role("table").nth(1)).to_contain_text("Huolto Oy")


def test_staff_create_a_person_and_make_them_a_customer(staff, admin):
    national_id = unique_national_id()
    staff.goto("/office/?lang=en")
    staff.get_by_role("link", name="New person").click()
    staff.get_by_label("First name").fill("Ville")
    staff.get_by_label("Last name").fill("Vallila")
    staff.get_by_label("Phone").fill("not a phone")
    staff.get_by_label("National identity number").fill(national_id)
    staff.get_by_role("button", name="Save").click()
    expect(staff.locator("#phone-error")).to_be_visible()
    assert national_id not in staff.content()  # not echoed back
    staff.get_by_label("Phone").fill("040 123 4567")
    staff.get_by_label("National identity number").fill(national_id)
    staff.get_by_role("button", name="Save").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Ville Vallila")
    assert national_id[:7] + "****" in text_of(staff)
    staff.get_by_label("Customer type").select_option("private")
    staff.get_by_role("button", name="Save").last.click()
    staff.get_by_role("button", name="Make customer").click()
    person_id = staff.url.rstrip("/").rsplit("/", 1)[-1]
    [relationship] = admin.get("/customers", params={"party_id": person_id}).json()["items"]
    assert relationship["status"] == "customer" and relationship["customer_type"] == "private"
