"""The web app's foundation in a real Chromium: login by role, the session cookie, CSRF,
security headers, languages, errors as pages, the gateway seeing the person, and axe."""
import requests
from playwright.sync_api import expect

from shared.waiting import wait_for
from tests.web.conftest import PASSWORD, assert_accessible, login

LOCKED_EN = "account is locked"


def test_login_lands_each_role_on_its_home_and_the_cookie_holds_no_readable_token(page, account, make_org,
                                                                                    base_url):
    organisation = make_org()
    username, password, _ = account("fleet_manager", organisation_id=organisation["id"], scope="company")
    page.goto("/login")
    expect(page.get_by_label("Käyttäjätunnus")).to_be_visible()
    assert_accessible(page)
    login(page, username, password)
    expect(page).to_have_url(f"{base_url}/fleet/")
    cookie = next(c for c in page.context.cookies() if c["name"] == "secto_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert "eyJ" not in cookie["value"]  # no JWT (base64 of '{"') readable in the cookie
    assert page.evaluate("document.cookie") in ("", "lang=en") and "secto_session" not in page.evaluate(
        "document.cookie")
    admin_username, _, _ = account("staff")
    page.context.clear_cookies()
    login(page, admin_username)
    expect(page).to_have_url(f"{base_url}/office/")


def test_wrong_password_and_lockout_are_shown_as_messages(page, account):
    username, _, _ = account("staff")
    login(page, username, "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")
    for _ in range(6):
        login(page, username, "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text(LOCKED_EN)
    expect(page.get_by_role("alert")).to_contain_text("min")


def test_post_without_csrf_token_is_400_and_headers_are_set(base_url):
    response = requests.post(f"{base_url}/login", data={"username": "x", "password": "y"}, timeout=10)
    assert response.status_code == 400
    page = requests.get(f"{base_url}/login", timeout=10)
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in page.text  # no inline script anywhere
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_finnish_is_the_default_and_english_is_remembered_or_asked_for(page, browser, base_url):
    swedish = browser.new_context(base_url=base_url, locale="sv-SE")
    other = swedish.new_page()
    other.goto("/login")
    expect(other.get_by_label("Käyttäjätunnus")).to_be_visible()  # Finnish unless English is asked for
    swedish.close()
    page.goto("/login?lang=en")
    expect(page.get_by_label("Username")).to_be_visible()
    page.goto("/login")
    expect(page.get_by_label("Username")).to_be_visible()  # the cookie remembers it
    context = browser.new_context(base_url=page.url.split("/login")[0], locale="en-GB")
    english = context.new_page()
    english.goto("/login")
    expect(english.get_by_label("Username")).to_be_visible()
    context.close()


def test_signed_out_user_goes_to_login_and_back_and_other_roles_get_404(page, account, make_org, base_url, admin):
    organisation = make_org()
    username, password, manager = account("fleet_manager", organisation_id=organisation["id"], scope="company")
    page.goto("/fleet/")
    expect(page).to_have_url(f"{base_url}/login?next=/fleet/")
    login(page, username, password)
    expect(page).to_have_url(f"{base_url}/fleet/")
    # the token stops being valid (password changed elsewhere): back to login, then back here
    response = requests.put(f"{admin.base_url}/me/password", timeout=10,
                            headers={"Authorization": f"Bearer {_token(admin.base_url, username, password)}"},
                            json={"current_password": password, "new_password": PASSWORD + "-new"})
    assert response.status_code == 204, response.text
    page.goto("/fleet/")
    expect(page).to_have_url(f"{base_url}/login?next=/fleet/")
    login(page, username, PASSWORD + "-new")
    expect(page).to_have_url(f"{base_url}/fleet/")
    page.goto("/office/")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    page.goto("/no/such/page")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{base_url}/login")


def test_the_gateway_sees_the_person_behind_the_web_app(browser, base_url, account, make_person, admin):
    person = make_person()
    username, password, _ = account("staff", person_id=person["id"])
    context = browser.new_context(base_url=base_url, user_agent="Mozilla/5.0 (X11; Linux x86_64) SectoProbe/7.1")
    page = context.new_page()
    login(page, username, password)
    page.goto("/fleet/")  # an authenticated API call on the person's behalf
    context.close()

    def usage():
        entries = admin.get(f"/persons/{person['id']}/export").json()["gateway"].get("web_usage", [])
        return [e for e in entries if "SectoProbe/7.1" in (e.get("user_agent") or "")]
    entries = wait_for(usage, timeout=30)
    assert entries[0]["ip_address"] == "127.0.0.1"


def _token(base_url, username, password):
    response = requests.post(f"{base_url}/auth/token", json={"username": username, "password": password}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]
