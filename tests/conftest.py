"""Factories for integration tests: each creates through the gateway, with unique data."""
import itertools
import uuid

import pytest

from testing.data import unique_business_id, unique_national_id, unique_phone

_serial = itertools.count(1)


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
