"""Request limits at the gateway (issue 8): per client IP and per account token buckets
answer 429 with Retry-After and recover; body size and page size caps.

Each limit test calls from a loopback address of its own (127.0.0.x), so it starts with a
full bucket of that IP whatever other requests the stack saw; recovery is polled for."""
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from requests.adapters import HTTPAdapter

from shared.testing import ADMIN, ApiClient, start_stack
from shared.waiting import wait_for

IP_BURST, ACCOUNT_BURST = 12, 4


@pytest.fixture(scope="module")
def limited():
    stack = start_stack(extra_env={"GATEWAY_RATE_PER_IP": "2", "GATEWAY_BURST_PER_IP": str(IP_BURST),
                                   "GATEWAY_RATE_PER_ACCOUNT": "1", "GATEWAY_BURST_PER_ACCOUNT": str(ACCOUNT_BURST)})
    yield stack
    stack.stop()


class FromAddress(ApiClient):
    """An ApiClient whose connections leave from `source_ip` (any 127.0.0.x reaches the gateway)."""

    def __init__(self, base_url, source_ip, token=None):
        super().__init__(base_url, token)
        self.source_ip = source_ip
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_maxsize=IP_BURST + 8)
        adapter.init_poolmanager(1, IP_BURST + 8, source_address=(source_ip, 0))
        self.session.mount("http://", adapter)

    def login(self, username, password) -> "FromAddress":
        response = self.post("/auth/token", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return FromAddress(self.base_url, self.source_ip, response.json()["access_token"])

    def request(self, method, path, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return self.session.request(method, f"{self.base_url}{path}", headers=headers, timeout=15, **kwargs)


def not_limited(call):
    """Poll `call` (a request) until it is not refused by a rate limit; its response."""
    return wait_for(lambda: (response := call()).status_code != 429 and response, timeout=60, interval=0.5)


def test_per_ip_limit_answers_429_with_retry_after_then_recovers(limited):
    """The burst is sent at once: one by one, calls on a slow machine take longer than the
    bucket's refill."""
    client = FromAddress(limited.base_url, "127.0.0.2")
    with ThreadPoolExecutor(IP_BURST + 8) as pool:
        responses = list(pool.map(lambda _: client.get("/health"), range(IP_BURST + 8)))
    statuses = [response.status_code for response in responses]
    assert statuses.count(200) >= IP_BURST and 429 in statuses, statuses
    refused = next(response for response in responses if response.status_code == 429)
    assert refused.json()["details"]["limit"] == "ip"
    assert 1 <= int(refused.headers["Retry-After"]) <= 2
    assert not_limited(lambda: client.get("/health")).status_code == 200
    other_ip = FromAddress(limited.base_url, "127.0.0.3")
    assert other_ip.get("/health").status_code == 200


def test_per_account_limit_is_separate_for_each_account(limited):
    """The burst is sent at once: the calls take longer than the account bucket's refill."""
    admin = FromAddress(limited.base_url, "127.0.0.4").login(*ADMIN)
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
    other = FromAddress(limited.base_url, "127.0.0.4").login(username, "Long-enough-password-1")
    assert other.get("/organisations").status_code == 200


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
    assert admin.get("/vehicles/abc%00def").status_code == 400
    assert admin.get("/vehicles", params={"cost_center": "a\x00"}).status_code == 400
