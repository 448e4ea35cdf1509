"""Prometheus metrics (issue 8): each service process and the gateway expose real counters."""
import re

import requests

from shared.waiting import wait_for


def sample(text, name, **labels) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if match and all(f'{key}="{value}"' in match.group(1) for key, value in labels.items()):
            total += float(match.group(2))
    return total


def scrape(port) -> str:
    response = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert response.status_code == 200
    return response.text


def test_gateway_and_service_processes_expose_metrics(stack, admin, make_person, make_user, make_org):
    make_person()
    assert admin.get("/organisations", params={"limit": 201}).status_code == 400
    assert requests.get(f"{stack.base_url}/metrics", timeout=5).status_code == 401
    assert make_user("fleet_manager", organisation_id=make_org()["id"])[1].get("/metrics").status_code == 404
    gateway = admin.get("/metrics")
    assert gateway.status_code == 200 and gateway.headers["Content-Type"].startswith("text/plain")
    assert sample(gateway.text, "secto_http_request_seconds_count", route="/api/v1/persons", method="POST",
                  status="201") >= 1
    assert sample(gateway.text, "secto_http_request_seconds_count", route="/api/v1/organisations",
                  status="400") >= 1

    [identity_port] = stack.stack.metrics_ports["identity"]
    identity = scrape(identity_port)
    assert sample(identity, "secto_entrypoint_seconds_count", service="identity", entrypoint="create_person",
                  outcome="ok") >= 1
    [driver_port] = stack.stack.metrics_ports["driver"]
    wait_for(lambda: sample(scrape(driver_port), "secto_messages_consumed_total", service="driver",
                            handler="on_person_created", outcome="ok") >= 1, timeout=10)
    assert "secto_partner_fuelings_total" in scrape(driver_port)
    assert "secto_messages_dead_lettered_total" in scrape(driver_port)
