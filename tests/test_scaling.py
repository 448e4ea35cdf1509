"""Independent scaling (issue 8, and issue 7's consent broadcast): with two driver and two
fleet processes, RPCs are shared between the processes of a service while an event is
handled once per service, not once per process."""
import json
import uuid

import pytest
from nameko.standalone.rpc import ClusterRpcClient

from shared.waiting import wait_for
from testing.data import unique_national_id, unique_phone
from testing.stack import start_stack


@pytest.fixture(scope="module")
def scaled():
    stack = start_stack(scale={"driver": 2, "fleet": 2})
    yield stack
    stack.stop()


def handled(stack, correlation_id) -> list[tuple[str, str]]:
    """(service, entrypoint) of every worker that ran for one request, from the stack's JSON log."""
    runs = []
    for line in stack.log_path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("correlation_id") == correlation_id and entry.get("event") == "entrypoint.done":
            runs.append((entry["service"], entry["entrypoint"]))
    return sorted(runs)


def event_runs(stack, correlation_id):
    """Event handler runs of one request (request logging aside)."""
    return [run for run in handled(stack, correlation_id)
            if run[1].startswith("on_") and run[1] != "on_request_logged"]


def test_rpc_is_shared_by_the_processes_of_a_service(scaled):
    with ClusterRpcClient(uri=scaled.amqp_uri) as client:
        for service in ("driver", "fleet"):
            processes = {client[service].health()["process"] for _ in range(40)}
            assert len(processes) == 2, service
        assert len({client.identity.health()["process"] for _ in range(10)}) == 1


def test_events_are_handled_once_per_service(scaled):
    admin = scaled.admin()
    correlation_id = str(uuid.uuid4())
    created = admin.post("/persons", headers={"X-Request-ID": correlation_id}, json={
        "first_name": "Skaalattu", "last_name": "Kuljettaja", "national_id": unique_national_id(),
        "phone": unique_phone()})
    assert created.status_code == 201, created.text
    person = created.json()
    expected = [("driver", "on_person_created"), ("marketing", "on_person_created")]
    wait_for(lambda: event_runs(scaled, correlation_id) == expected, timeout=15)

    username = f"drv-{uuid.uuid4().hex[:8]}"
    assert admin.post("/users", json={"username": username, "password": "Long-enough-password-1", "role": "driver",
                                      "person_id": person["id"]}).status_code == 201
    driver = scaled.client().login(username, "Long-enough-password-1")
    assert driver.put("/me/consents/location_tracking", json={"status": "granted", "source": "app"}).status_code == 200
    wait_for(lambda: driver.post("/me/location", json={"lat": 60.17, "lon": 24.94,
                                                       "at": "2026-11-24T10:00:00+00:00"}).status_code == 201,
             timeout=15)
    withdrawal = str(uuid.uuid4())
    assert driver.put("/me/consents/location_tracking", headers={"X-Request-ID": withdrawal},
                      json={"status": "withdrawn", "source": "app"}).status_code == 200
    wait_for(lambda: driver.get("/me/location").json()["items"] == [], timeout=15)
    wait_for(lambda: ("driver", "on_consent_changed") in handled(scaled, withdrawal), timeout=15)
    assert event_runs(scaled, withdrawal) == [("driver", "on_consent_changed")]
    assert event_runs(scaled, correlation_id) == expected  # still once, seconds later
