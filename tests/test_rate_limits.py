"""Request limits at the gateway (issue 8): per client IP and per account token buckets
answer 429 with Retry-After and recover; body size and page size caps. A flood costs
nothing downstream (issue 12 §5) and login attempts are throttled per IP (§4)."""
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import text

from shared.db import make_engine
from shared.messaging import REQUEST_LOGGED, handler_queue_name
from shared.waiting import wait_for
from testing.broker import Vhosts
from testing.stack import ADMIN, start_stack


@pytest.fixture(scope="module")
def limited():
    stack = start_stack(extra_env={"GATEWAY_RATE_PER_IP": "2", "GATEWAY_BURST_PER_IP": "12",
                                   "GATEWAY_RATE_PER_ACCOUNT": "1", "GATEWAY_BURST_PER_ACCOUNT": "4",
                                   "GATEWAY_RATE_PER_LOGIN_IP": "0.01", "GATEWAY_BURST_PER_LOGIN_IP": "3",
                                   "GATEWAY_CSV_MAX_ROWS": "1"})
    yield stack
    stack.stop()


IP_BURST, ACCOUNT_BURST = 12, 4


def not_limited(call):
    """Poll `call` (a request) until it is not refused by a rate limit; its response. (A
    requests.Response is falsy for 4xx, so the poll waits on a flag, not on the response.)"""
    answers = []

    def answered():
        answers.append(call())
        return answers[-1].status_code != 429
    wait_for(answered, timeout=60, interval=0.5)
    return answers[-1]


def test_per_ip_limit_answers_429_with_retry_after_then_recovers(limited):
    """Each limit test calls from a loopback address of its own (127.0.0.x), so it starts with
    a full bucket; the burst is sent at once, since one by one, calls on a slow machine take
    longer than the bucket's refill; recovery is polled for."""
    client = limited.client(source_ip="127.0.0.2")
    with ThreadPoolExecutor(IP_BURST + 8) as pool:
        responses = list(pool.map(lambda _: client.get("/health"), range(IP_BURST + 8)))
    statuses = [response.status_code for response in responses]
    assert statuses.count(200) >= IP_BURST and 429 in statuses, statuses
    refused = next(response for response in responses if response.status_code == 429)
    assert refused.json()["details"]["limit"] == "ip"
    assert 1 <= int(refused.headers["Retry-After"]) <= 2
    assert not_limited(lambda: client.get("/health")).status_code == 200
    assert limited.client(source_ip="127.0.0.3").get("/health").status_code == 200


def test_per_account_limit_is_separate_for_each_account(limited):
    admin = limited.client(source_ip="127.0.0.4").login(*ADMIN)
    with ThreadPoolExecutor(ACCOUNT_BURST + 4) as pool:
        responses = list(pool.map(lambda _: admin.get("/organisations"), range(ACCOUNT_BURST + 4)))
    statuses = [response.status_code for response in responses]
    assert statuses.count(200) >= ACCOUNT_BURST and 429 in statuses, statuses
    refused = next(response for response in responses if response.status_code == 429)
    assert refused.json()["details"]["limit"] == "account" and int(refused.headers["Retry-After"]) >= 1
    username = f"u-{uuid.uuid4().hex[:8]}"
    made = not_limited(lambda: admin.post("/users", json={"username": username, "password": "Long-enough-password-1",
                                                          "role": "staff"}))
    assert made.status_code == 201, made.text
    other = limited.client(source_ip="127.0.0.4").login(username, "Long-enough-password-1")
    assert other.get("/organisations").status_code == 200


def test_login_attempts_are_throttled_per_ip(limited):
    guesser = limited.client(source_ip="127.0.0.10")
    statuses = [guesser.post("/auth/token", json={"username": f"guess-{n}", "password": "Wrong-password-1"})
                for n in range(4)]
    assert [r.status_code for r in statuses] == [401, 401, 401, 429]
    assert statuses[-1].json()["details"]["limit"] == "login" and int(statuses[-1].headers["Retry-After"]) >= 1
    other_client = limited.client(source_ip="127.0.0.11").login(*ADMIN)
    assert not_limited(lambda: other_client.get("/organisations")).status_code == 200  # the admin's own bucket


def usage_rows(stack) -> int:
    url = stack.env.get("IDENTITY_DATABASE_URL") or f"sqlite:///{stack.var_dir / 'identity.db'}"
    engine = make_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM web_usage")).scalar_one()
    engine.dispose()
    return count


def usage_events_published(stack) -> int:
    vhosts = Vhosts()
    vhost = urllib.parse.unquote(urllib.parse.urlparse(stack.amqp_uri).path[1:])
    queue = handler_queue_name("gateway", REQUEST_LOGGED, "identity", "on_request_logged")
    stats = requests.get(f"{vhosts.base}/queues/{urllib.parse.quote(vhost, safe='')}/{queue}", auth=vhosts.auth,
                         timeout=10).json()
    return stats.get("message_stats", {}).get("publish", 0)


def settled(read, pause=6, timeout=90):
    """The value once two reads `pause` s apart agree (gateway batches flush every second,
    the broker's statistics every 5 s)."""
    deadline, last = time.time() + timeout, read()
    while time.time() < deadline:
        time.sleep(pause)
        current = read()
        if current == last:
            return current
        last = current
    raise TimeoutError("still changing")


def test_a_flood_of_refused_requests_records_nothing(limited):
    user = limited.client(source_ip="127.0.0.12").login(*ADMIN)
    rows, published = settled(lambda: (usage_rows(limited), usage_events_published(limited)))
    statuses, done = [], threading.Event()
    flooder = limited.client(source_ip="127.0.0.13")  # no token: 401 when not 429

    def flood():
        for _ in range(2000):
            statuses.append(flooder.get("/organisations").status_code)
        done.set()

    thread = threading.Thread(target=flood)
    thread.start()
    while len(statuses) < 500 and thread.is_alive():
        time.sleep(0.05)
    assert user.get("/organisations").status_code == 200  # meanwhile, a real user is served
    thread.join(timeout=600)
    assert done.is_set() and statuses.count(429) >= 1500 and set(statuses) <= {429, 401}
    # only the real user's request is recorded: one row, one event
    assert settled(lambda: (usage_rows(limited), usage_events_published(limited))) == (rows + 1, published + 1)


def test_a_csv_report_over_the_row_cap_is_refused(limited):
    from testing.data import unique_business_id
    from tests.test_security_headers import random_plate

    admin = limited.client(source_ip="127.0.0.14").login(*ADMIN)  # the account's bucket is polled for
    company = not_limited(lambda: admin.post("/organisations", json={"name": "Cap Oy",
                                                                      "business_id": unique_business_id()})).json()
    for cost_center in ("A", "B"):
        assert not_limited(lambda: admin.post("/vehicles", json={
            "registration_number": random_plate(), "vin": "WVWZZZ1JZXW000001", "make": "Skoda", "model": "Octavia",
            "vehicle_class": "passenger_car", "power_source": "diesel", "co2_g_per_km": 120,
            "user_organisation_id": company["id"], "cost_center": cost_center})).status_code == 201
    export = not_limited(lambda: admin.get("/reports/co2-by-cost-center", headers={"Accept": "text/csv"}))
    assert export.status_code == 400 and "_query" in export.json()["details"]
    assert not_limited(lambda: admin.get("/reports/co2-by-cost-center")).status_code == 200  # JSON pages answer


def test_body_and_page_size_caps(stack, admin):
    too_big = admin.post("/organisations", data=b"{" + b" " * (1024 * 1024) + b"}",
                         headers={"Content-Type": "application/json"})
    assert too_big.status_code == 413 and too_big.json()["error"] == "payload_too_large"
    assert admin.get("/organisations", params={"limit": 201}).status_code == 400
    assert admin.get("/organisations", params={"limit": 200}).status_code == 200


def test_text_no_database_can_store_is_400_not_500(stack, admin):
    """NUL characters and lone surrogates pass JSON and URLs but not PostgreSQL."""
    nul = admin.post("/dealerships", json={"name": "Auto\u0000talo"})
    assert nul.status_code == 400 and "name" in nul.json()["details"]
    surrogate = admin.post("/dealerships", data='{"name": "Auto\\udc48"}', headers={"Content-Type": "application/json"})
    assert surrogate.status_code == 400, surrogate.text
    assert admin.get("/vehicles/abc%00def").status_code == 404  # ids are UUIDs: no such path, not a 500
    assert admin.get("/vehicles", params={"cost_center": "a\x00"}).status_code == 400
