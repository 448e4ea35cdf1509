"""Browser tests: Playwright driving Debian's Chromium against the suite's stack, which
runs the web app beside the gateway (`stack.web_url`)."""
import os
import re
import uuid

import pytest
from axe_playwright_python.sync_playwright import Axe

CHROMIUM = os.environ.get("SECTO_CHROMIUM", "/usr/bin/chromium")
# the closed network refuses Chromium's background connections: switch them off
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "Long-enough-password-1"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fi-FI", "timezone_id": "Europe/Helsinki"}


@pytest.fixture(scope="session")
def base_url(stack):
    return stack.web_url


@pytest.fixture
def account(admin, stack):
    """account(role, **fields) -> (username, password, account json): a user of the API."""
    def make(role, **fields):
        username = f"{role[:5]}-{uuid.uuid4().hex[:10]}"
        response = admin.post("/users", json={"username": username, "password": PASSWORD, "role": role, **fields})
        assert response.status_code == 201, response.text
        return username, PASSWORD, response.json()
    return make


def login(page, username, password=PASSWORD, lang="en"):
    """Sign in through the login form; English labels unless lang='fi'."""
    page.goto(f"/login?lang={lang}")
    labels = {"en": ("Username", "Password", "Log in"), "fi": ("Käyttäjätunnus", "Salasana", "Kirjaudu sisään")}[lang]
    page.get_by_label(labels[0]).fill(username)
    page.get_by_label(labels[1]).fill(password)
    page.get_by_role("button", name=labels[2]).click()
    page.wait_for_load_state()


def serious_violations(page) -> list:
    """axe-core in the page: violations of impact serious or critical."""
    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def assert_accessible(page):
    found = serious_violations(page)
    assert not found, f"{page.url}: " + "; ".join(found)


def text_of(page, selector="main") -> str:
    """Visible text with no-break spaces folded (fi money: '1 234,50 €')."""
    return re.sub(r"[\u00a0\u202f]", " ", page.inner_text(selector))
