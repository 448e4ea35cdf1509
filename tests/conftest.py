"""Factories for integration tests: each creates through the gateway, with unique data."""
import itertools
import random
import uuid

import pytest
from stdnum.fi import hetu, ytunnus

_serial = itertools.count(1)
CHECK_CHARS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
# every national id the integration tests hand to the platform: tests/test_zz_no_plaintext.py
# checks none of them is stored or logged in plaintext
USED_NATIONAL_IDS: set[str] = set()


def unique_business_id() -> str:
    while True:
        base = f"{random.randint(1000000, 9999999)}"
        for digit in "0123456789":
            if ytunnus.is_valid(base + digit):
                return f"{base}-{digit}"


def unique_national_id() -> str:
    """A valid henkilötunnus (individual number 002-899) unlikely to repeat within a run."""
    while True:
        day, month, year = random.randint(1, 28), random.randint(1, 12), random.randint(0, 99)
        sign = random.choice("-ABCDEFUVWXY" if year < 24 else "-UVWXY")
        individual = random.randint(2, 899)
        body = f"{day:02d}{month:02d}{year:02d}{sign}{individual:03d}"
        check = CHECK_CHARS[int(f"{day:02d}{month:02d}{year:02d}{individual:03d}") % 31]
        if hetu.is_valid(body + check):
            USED_NATIONAL_IDS.add(body + check)
            return body + check


def unique_phone() -> str:
    return f"+35840{random.randint(1000000, 9999999)}"


@pytest.fixture
def make_org(admin):
    def make(**overrides):
        data = {"name": f"Org {next(_serial)} Oy", "business_id": unique_business_id(), **overrides}
        response = admin.post("/organisations", json=data)
        assert response.status_code == 201, response.text
        return response.json()
    return make


@pytest.fixture
def make_person(admin):
    def make(**overrides):
        data = {"first_name": "Testi", "last_name": f"Henkilö{next(_serial)}", "national_id": unique_national_id(),
                "phone": unique_phone(), "email": f"p{uuid.uuid4().hex[:8]}@example.fi", **overrides}
        response = admin.post("/persons", json=data)
        assert response.status_code == 201, response.text
        return response.json()
    return make


@pytest.fixture
def make_user(admin, stack):
    """make_user(role, **fields) -> (account json, logged-in ApiClient)."""
    def make(role, **overrides):
        username, password = f"u-{uuid.uuid4().hex[:10]}", "Long-enough-password-1"
        response = admin.post("/users", json={"username": username, "password": password, "role": role,
                                              **overrides})
        assert response.status_code == 201, response.text
        return response.json(), stack.client().login(username, password)
    return make
