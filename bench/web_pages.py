"""What a Fleet Manager page costs against the API call it wraps: `/fleet/vehicles` (the
web app: session, one API call, template) vs `GET /api/v1/vehicles?limit=50` with the
same user's token, both over HTTP on loopback, alternating, on one stack. Target: the page
at most 2x the API call (p50)."""
import re
import statistics
import time
import uuid

import requests

from testing.stack import start_stack

ROUNDS = 200
VEHICLES = 60
PASSWORD = "Long-enough-password-1"
TARGET = 2.0


def seed(admin) -> tuple[str, str]:
    from testing.data import unique_business_id, vehicle_body

    organisation = admin.post("/organisations", json={"name": "Bench Oy", "business_id": unique_business_id()}).json()
    for _ in range(VEHICLES):
        assert admin.post("/vehicles", json=vehicle_body(organisation["id"])).status_code == 201
    username = f"fm-{uuid.uuid4().hex[:8]}"
    assert admin.post("/users", json={"username": username, "password": PASSWORD, "role": "fleet_manager",
                                      "scope": "company", "organisation_id": organisation["id"]}).status_code == 201
    return username, PASSWORD


def web_session(web_url, username, password) -> requests.Session:
    session = requests.Session()
    form = session.get(f"{web_url}/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    answer = session.post(f"{web_url}/login", data={"csrf_token": token, "username": username, "password": password},
                          timeout=10)
    assert answer.url.endswith("/fleet/"), answer.url
    return session


def timed(call) -> float:
    started = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text[:200]
    return elapsed


def main():
    stack = start_stack(extra_env={"GATEWAY_TRUSTED_PROXIES": "127.0.0.1"})
    try:
        username, password = seed(stack.admin())
        api = stack.client().login(username, password)
        page = web_session(stack.web_url, username, password)
        api_call = lambda: api.get("/vehicles", params={"limit": 50})  # noqa: E731
        page_call = lambda: page.get(f"{stack.web_url}/fleet/vehicles", timeout=15)  # noqa: E731
        for _ in range(20):  # warm both paths
            timed(api_call), timed(page_call)
        api_times, page_times = [], []
        for _ in range(ROUNDS):
            api_times.append(timed(api_call))
            page_times.append(timed(page_call))
        api_p50, page_p50 = statistics.median(api_times), statistics.median(page_times)
        ratio = page_p50 / api_p50
        print(f"GET /api/v1/vehicles?limit=50  p50 {api_p50 * 1000:7.2f} ms")
        print(f"GET /fleet/vehicles (web page)  p50 {page_p50 * 1000:7.2f} ms")
        print(f"page / API call ratio {ratio:.2f} (target <= {TARGET}) over {ROUNDS} alternating rounds: "
              f"{'met' if ratio <= TARGET else 'MISSED'}")
        missed = ratio > TARGET
        return [f"web page /fleet/vehicles: {ratio:.2f}x the API call (target <= {TARGET})"] if missed else []
    finally:
        stack.stop()
