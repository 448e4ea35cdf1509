"""Request limits at the gateway (issue 8): per client IP and per account token buckets
answer 429 with Retry-After and recover; body size and page size caps."""
import time
import uuid

import pytest

from shared.testing import ADMIN, start_stack


@pytest.fixture(scope="module")
def limited():
    stack = start_stack(extra_env={"GATEWAY_RATE_PER_IP": "2", "GATEWAY_BURST_PER_IP": "12",
                                   "GATEWAY_RATE_PER_ACCOUNT": "1", "GATEWAY_BURST_PER_ACCOUNT": "4"})
    yield stack
    stack.stop()


def test_per_ip_limit_answers_429_with_retry_after_then_recovers(limited):
    time.sleep(6)  # the startup health checks spent some of this IP's burst
    client = limited.client()
    statuses = [client.get("/health").status_code for _ in range(20)]
    assert statuses[0] == 200 and statuses[-1] == 429
    refused = client.get("/health")
    assert refused.status_code == 429 and refused.json()["details"]["limit"] == "ip"
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 2
    time.sleep(retry_after)
    assert client.get("/health").status_code == 200


def test_per_account_limit_is_separate_for_each_account(limited):
    time.sleep(6)
    admin = limited.client().login(*ADMIN)
    statuses = [admin.get("/organisations").status_code for _ in range(6)]
    assert statuses[:4] == [200] * 4 and statuses[-1] == 429
    refused = admin.get("/organisations")
    assert refused.json()["details"]["limit"] == "account" and int(refused.headers["Retry-After"]) >= 1
    username = f"u-{uuid.uuid4().hex[:8]}"
    time.sleep(2)
    assert admin.post("/users", json={"username": username, "password": "Long-enough-password-1",
                                      "role": "staff"}).status_code == 201
    other = limited.client().login(username, "Long-enough-password-1")
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
