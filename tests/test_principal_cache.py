"""The gateway keeps identity's answer for a token briefly (gateway.auth.PrincipalCache), but a
change identity makes is seen at once: here the change does not pass through the gateway (an
RPC straight to identity) and the cache would keep the answer for ten minutes, so only
identity's account_changed event, received by every gateway process, can revoke the token.
(Changes made through the gateway: tests/test_authentication.py.)"""
import uuid

import pytest
from nameko.standalone.rpc import ClusterRpcClient

from testing.stack import start_stack
from shared.waiting import wait_for

PASSWORD = "Long-enough-password-1"


@pytest.fixture(scope="module")
def long_cache():
    stack = start_stack(extra_env={"GATEWAY_PRINCIPAL_TTL": "600"})
    yield stack
    stack.stop()


def test_a_deactivation_made_outside_the_gateway_revokes_the_token(long_cache):
    admin = long_cache.admin()
    username = f"cached-{uuid.uuid4().hex[:8]}"
    account = admin.post("/users", json={"username": username, "password": PASSWORD, "role": "staff"})
    assert account.status_code == 201, account.text
    user = long_cache.client().login(username, PASSWORD)
    assert user.get("/organisations").status_code == 200  # its principal is now cached
    with ClusterRpcClient(uri=long_cache.amqp_uri, context_data={"role": "staff"}) as identity:
        assert identity.identity.update_account(account.json()["id"], {"active": False})["active"] is False
    wait_for(lambda: user.get("/organisations").status_code == 401, timeout=30)
