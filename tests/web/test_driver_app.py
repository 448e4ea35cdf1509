"""Driver Assistant (/driver/) in Chromium with a phone's viewport and touch: home, the
driving log through the form and offline, exports, washes, consents and location pings,
the own data export, accessibility, and no way into /fleet/ or /office/."""
import json
import uuid

import pytest
from playwright.sync_api import expect

from shared.waiting import wait_for
from tests.web.conftest import assert_accessible, login

PHONE = {"viewport": {"width": 360, "height": 740}, "has_touch": True, "is_mobile": True,
         "timezone_id": "Europe/Helsinki", "locale": "fi-FI"}
HELSINKI = {"latitude": 60.1699, "longitude": 24.9384}
# counts the app's calls for the phone's position
COUNT_GEOLOCATION = """
  window.__positionCalls = 0;
  if (navigator.geolocation) {
    const original = navigator.geolocation.getCurrentPosition.bind(navigator.geolocation);
    navigator.geolocation.getCurrentPosition = (...args) => { window.__positionCalls += 1; return original(...args); };
  }
"""


@pytest.fixture
def driver(admin, account, make_org, make_person, stack):
    """A driver with a leased car (fleet vehicle + active contract with the wash add-on)."""
    from testing.data import activate, contract_body, created, vehicle_body
    company = make_org()
    person = make_person(first_name="Kaisa")
    username, password, _ = account("driver", person_id=person["id"])
    vehicle = created(admin.post("/vehicles", json=vehicle_body(company["id"], driver_person_id=person["id"])))
    contract = created(admin.post("/contracts", json=contract_body(vehicle["id"], company["id"],
                                                                   starts_on="2025-01-01")))
    activate(admin, contract["id"])
    api = stack.client().login(username, password)
    wait_for(lambda: api.get("/me").json().get("contract_status") == "active", timeout=20)
    return {"username": username, "password": password, "person": person, "vehicle": vehicle, "api": api}


@pytest.fixture
def phone(browser, base_url):
    """make(**context_options) -> a page in a new phone-sized context with touch."""
    contexts = []

    def make(**options):
        context = browser.new_context(base_url=base_url, **{**PHONE, **options})
        contexts.append(context)
        return context.new_page()
    yield make
    for context in contexts:
        context.close()


def fill_trip(page, date="2026-03-02", start="08:05", end="09:10", odometer=(1000, 1042), purpose="Asiakaskäynti"):
    page.get_by_label("Date").fill(date)
    page.get_by_label("Start time").fill(start)
    page.get_by_label("End time").fill(end)
    page.get_by_label("Odometer at start").fill(str(odometer[0]))
    page.get_by_label("Odometer at end").fill(str(odometer[1]))
    page.get_by_label("Type").select_option("work")
    page.get_by_label("From", exact=True).fill("Helsinki")
    page.get_by_label("To", exact=True).fill("Espoo")
    page.get_by_label("Purpose").fill(purpose)


def small_targets(page) -> list:
    """Visible controls smaller than 44 x 44 px."""
    return page.evaluate("""() => [...document.querySelectorAll(
        '.top a, .top button, main button, main input:not([type=hidden]), main select, main .card > a, main .actions a, main .years a')]
        .filter(e => e.offsetParent !== null)
        .map(e => [e.outerHTML.slice(0, 80), e.getBoundingClientRect()])
        .filter(([, r]) => r.height < 44 || r.width < 44).map(([html]) => html)""")


def test_home_and_a_trip_through_the_form(phone, driver, base_url):
    page = phone()
    login(page, driver["username"], driver["password"])
    expect(page).to_have_url(f"{base_url}/driver/")
    main = page.locator("main")
    expect(main).to_contain_text(driver["vehicle"]["registration_number"])
    for text in ("Months left", "Included km", "90,000", "celebration wash", "diesel", "120 g/km", "2025-01-01"):
        expect(main).to_contain_text(text)
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert small_targets(page) == []

    page.get_by_role("link", name="Driving log").click()
    fill_trip(page)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("main")).to_contain_text("Trip saved")
    [trip] = driver["api"].get("/me/trips").json()["items"]
    assert (trip["started_at"], trip["ended_at"], trip["odometer_start"], trip["odometer_end"]) == (
        "2026-03-02T08:05:00+02:00", "2026-03-02T09:10:00+02:00", 1000, 1042)
    assert (trip["trip_type"], trip["start_point"], trip["end_point"], trip["purpose"]) == (
        "work", "Helsinki", "Espoo", "Asiakaskäynti")
    assert trip["client_id"] and trip["added_by_name"].startswith("Kaisa")
    expect(page.locator("main")).to_contain_text("Added by Kaisa")
    for text in ("Work km", "42", "First odometer reading", "1,000", "1,042"):
        expect(page.locator("main")).to_contain_text(text)
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert small_targets(page) == []

    fill_trip(page, odometer=(1000, 1010))  # behind the entry just saved
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#trip-form-message")).to_contain_text("before the end of the latest entry")
    assert len(driver["api"].get("/me/trips").json()["items"]) == 1


def test_finnish_labels(phone, driver):
    page = phone()
    login(page, driver["username"], driver["password"], lang="fi")
    page.goto("/driver/trips")
    for label in ("Päivämäärä", "Alkuaika", "Loppuaika", "Matkamittari alussa", "Matkamittari lopussa", "Tyyppi",
                  "Mistä", "Mihin", "Tarkoitus"):
        expect(page.get_by_label(label, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Tallenna")).to_be_visible()
    assert_accessible(page)


def test_an_offline_trip_is_queued_then_sent_exactly_once(phone, driver):
    page = phone()
    login(page, driver["username"], driver["password"])
    page.goto("/driver/trips")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    driver["api"].post("/me/trips", json={"started_at": "2025-06-02T08:00:00+03:00",
                                          "ended_at": "2025-06-02T08:30:00+03:00", "odometer_start": 900,
                                          "odometer_end": 1000, "trip_type": "private", "start_point": "Koti",
                                          "end_point": "Mökki"})
    page.goto("/driver/trips?year=2025")
    page.goto("/driver/trips?year=2026")  # under the service worker, which keeps each page as the last-seen copy
    cached = """url => caches.keys().then(keys => Promise.all(keys.map(k => caches.open(k).then(c => c.match(url)))))
                 .then(hits => hits.find(Boolean)).then(hit => hit ? hit.text() : '')"""
    wait_for(lambda: "Mökki" in page.evaluate(cached, "/driver/trips?year=2025"), timeout=15)
    shell = page.evaluate("caches.keys().then(keys => caches.open(keys[0])).then(c => c.keys())"
                          ".then(requests => requests.map(r => new URL(r.url).pathname))")
    assert {"/static/app.css", "/static/driver.js", "/driver/offline"} <= set(shell)

    page.context.set_offline(True)
    fill_trip(page)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#outbox-status")).to_contain_text("1 trip(s) waiting to be sent")
    fill_trip(page, date="2026-03-03", odometer=(1000, 1010), purpose="Toinen")  # will conflict with the first
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#outbox-status")).to_contain_text("2 trip(s) waiting to be sent")
    expect(page.locator("#offline-banner")).to_be_visible()
    assert driver["api"].get("/me/trips", params={"year": 2026}).json()["items"] == []

    page.context.set_offline(False)
    expect(page.locator("#outbox-list")).to_contain_text("Not saved:", timeout=40_000)
    expect(page.locator("#outbox-list")).to_contain_text("before the end of the latest entry")
    wait_for(lambda: driver["api"].get("/me/trips", params={"year": 2026}).json()["items"], timeout=15)
    page.reload()
    page.wait_for_load_state("networkidle")
    trips = driver["api"].get("/me/trips", params={"year": 2026}).json()["items"]
    assert [(t["odometer_start"], t["odometer_end"], t["started_at"]) for t in trips] == [
        (1000, 1042, "2026-03-02T08:05:00+02:00")]
    expect(page.locator("#outbox-list")).to_contain_text("Not saved:")  # the conflict stays shown
    page.get_by_role("button", name="Discard").click()
    expect(page.locator("#outbox")).to_be_hidden()
    assert len(driver["api"].get("/me/trips", params={"year": 2026}).json()["items"]) == 1


def test_yearly_exports_pdf_and_csv(phone, driver):
    driver["api"].post("/me/trips", json={"started_at": "2026-03-02T08:05:00+02:00",
                                          "ended_at": "2026-03-02T09:10:00+02:00", "odometer_start": 1000,
                                          "odometer_end": 1042, "trip_type": "work", "start_point": "Helsinki",
                                          "end_point": "Espoo", "purpose": "Asiakas"})
    page = phone()
    login(page, driver["username"], driver["password"])
    page.goto("/driver/trips?year=2026")
    with page.expect_download() as pdf:
        page.get_by_role("link", name="Download PDF").click()
    with open(pdf.value.path(), "rb") as file:
        assert file.read(4) == b"%PDF"
    with page.expect_download() as csv_file:
        page.get_by_role("link", name="Download CSV").click()
    with open(csv_file.value.path(), encoding="utf-8-sig") as file:
        text = file.read()
    assert driver["vehicle"]["registration_number"] in text and "08:05" in text


def test_washes_fuelings_and_tires(phone, driver, admin, stack):
    from services.driver.partner.publish import Publisher
    with Publisher(stack.amqp_uri, "neste") as publisher:
        publisher.publish({"event_id": str(uuid.uuid4()), "partner": "neste", "phone": driver["person"]["phone"],
                           "registration_number": driver["vehicle"]["registration_number"], "product": "Futura 95E10",
                           "company": "Neste", "municipality": "Espoo", "station": "Neste Keilaniemi",
                           "liters": 38.5, "fueled_at": "2026-11-03T08:15:00+02:00"})
    wait_for(lambda: driver["api"].get("/me/fuelings").json()["items"], timeout=15)
    admin.put(f"/vehicles/{driver['vehicle']['id']}/tire-storage", json={"location": "Vianor Espoo, hylly 12"})
    page = phone()
    login(page, driver["username"], driver["password"])
    page.goto("/driver/fuelings")
    for text in ("Neste Keilaniemi", "Espoo", "Futura 95E10", "38.50", "2026-11-03 08:15"):
        expect(page.locator("main")).to_contain_text(text)
    assert_accessible(page)
    page.goto("/driver/tires")
    expect(page.locator("main")).to_contain_text("Vianor Espoo, hylly 12")

    page.goto("/driver/washes")
    page.get_by_label("Time").fill("2099-06-01T10:00")
    page.get_by_label("Wash", exact=True).select_option("Premium")
    page.get_by_label("Place").fill("Pesula Oy, Vantaa")
    page.get_by_role("button", name="Book").click()
    expect(page.locator("main")).to_contain_text("Wash booked")
    [booking] = driver["api"].get("/me/washes").json()["items"]
    assert booking["wash_at"] == "2099-06-01T07:00:00+00:00" and booking["place"] == "Pesula Oy, Vantaa"
    assert_accessible(page)
    page.goto("/driver/")
    expect(page.locator("main")).to_contain_text("Pesula Oy, Vantaa")
    page.goto("/driver/washes")
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("main")).to_contain_text("Cancelled")
    assert driver["api"].get("/me/washes").json()["items"][0]["cancelled_at"]


def test_consent_switch_and_location_pings(phone, driver):
    page = phone(geolocation=HELSINKI, permissions=["geolocation"])
    page.add_init_script(COUNT_GEOLOCATION)
    login(page, driver["username"], driver["password"])
    page.goto("/driver/privacy")
    assert page.evaluate("window.__positionCalls") == 0  # no consent: the position is never asked for
    expect(page.locator("main")).to_contain_text("driver-app-2026-11")

    page.get_by_role("switch", name="Location tracking").check()
    expect(page.locator("main")).to_contain_text("Your choice was saved")
    consents = {c["purpose"]: c["status"] for c in driver["api"].get("/me/consents").json()["consents"]}
    assert consents["location_tracking"] == "granted"
    history = driver["api"].get("/me/consents").json()["history"]
    assert "driver-app-2026-11" in {record["text_version"] for record in history if record["purpose"] == "location_tracking"}
    pings = wait_for(lambda: driver["api"].get("/me/location").json()["items"], timeout=20)
    assert (round(pings[0]["lat"], 3), round(pings[0]["lon"], 3)) == (60.17, 24.938)

    page.get_by_role("switch", name="Location tracking").uncheck()
    expect(page.locator("main")).to_contain_text("Your stored locations were deleted")
    assert page.evaluate("window.__positionCalls") == 0  # the new page does not ask any more
    consents = {c["purpose"]: c["status"] for c in driver["api"].get("/me/consents").json()["consents"]}
    assert consents["location_tracking"] == "withdrawn"
    wait_for(lambda: driver["api"].get("/me/location").json()["items"] == [], timeout=15)
    refused = page.evaluate("""() => fetch('/driver/location', {method: 'POST', body: new URLSearchParams({
        lat: '60.1', lon: '24.9', at: new Date().toISOString(),
        csrf_token: document.getElementById('driver-app').dataset.csrf})}).then(r => r.status)""")
    assert refused == 409
    assert driver["api"].get("/me/location").json()["items"] == []

    page.get_by_role("switch", name="Email marketing").check()
    expect(page.locator("main")).to_contain_text("Your choice was saved")
    consents = {c["purpose"]: c["status"] for c in driver["api"].get("/me/consents").json()["consents"]}
    assert consents["email_marketing"] == "granted"
    assert_accessible(page)


def test_own_data_export_downloads(phone, driver):
    page = phone()
    login(page, driver["username"], driver["password"])
    page.goto("/driver/privacy")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data").click()
    with open(download.value.path(), encoding="utf-8") as file:
        data = json.load(file)
    assert data["person_id"] == driver["person"]["id"]
    assert {"identity", "fleet", "driver", "billing", "kyc", "marketing", "gateway"} <= set(data)


def test_installable_and_the_driver_never_reaches_other_areas(phone, driver, base_url):
    page = phone()
    manifest = page.request.get("/driver/manifest.webmanifest")
    body = manifest.json()
    assert body["display"] == "standalone" and body["theme_color"] and body["start_url"] == "/driver/"
    assert {icon["sizes"] for icon in body["icons"]} == {"192x192", "512x512"}
    for icon in body["icons"]:
        assert page.request.get(icon["src"]).body()[:8] == b"\x89PNG\r\n\x1a\n"
    worker = page.request.get("/driver/sw.js")
    assert worker.ok and "javascript" in worker.headers["content-type"]

    page.goto("/driver/")
    expect(page).to_have_url(f"{base_url}/login?next=/driver/")
    login(page, driver["username"], driver["password"])
    page.goto("/driver/")
    assert page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)").endswith("/driver/")
    for path in ("/fleet/", "/fleet/vehicles", "/office/", "/office/persons/x"):
        response = page.goto(path)
        assert response.status == 404, path
    assert page.request.get("/driver/privacy/export").ok


def test_another_role_gets_404_on_driver_pages(phone, account):
    username, password, _ = account("staff")
    page = phone()
    login(page, username, password)
    assert page.goto("/driver/trips").status == 404
