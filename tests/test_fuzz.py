"""API fuzzing (issue 8): schemathesis against /api/v1/openapi.json of a private stack, as
staff, a fleet manager and a driver (dedicated accounts): no server error, every response as
documented (status and schema). Path parameters (and id fields of bodies) are drawn mostly
from objects seeded first, so fuzzed requests reach the handlers instead of stopping at a 404.
Bounded: a few examples per operation."""
import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from shared.testing import start_stack
from tests.conftest import unique_business_id, unique_national_id, unique_phone
from tests.test_fleet_api import activate, contract_body, created, vehicle_body

PASSWORD = "Fuzz-password-123456"
EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "5")
# operations that end the fuzzing account's own session or erase data for good
EXCLUDED = ("update_user", "change_password", "issue_token", "erase_person")


@pytest.fixture(scope="module")
def fuzz_stack():
    stack = start_stack()
    yield stack
    stack.stop()


def account(stack, admin, **fields) -> tuple[str, str]:
    """(account id, token) of a new account."""
    username = f"fuzz-{uuid.uuid4().hex[:8]}"
    response = admin.post("/users", json={"username": username, "password": PASSWORD, **fields})
    assert response.status_code == 201, response.text
    return response.json()["id"], stack.client().login(username, PASSWORD).token


def seed(admin) -> dict[str, list[str]]:
    """One of each object the API addresses by id, in one company; values by parameter name."""
    company = created(admin.post("/organisations", json={"name": "Fuzz Oy", "business_id": unique_business_id()}))
    person = created(admin.post("/persons", json={
        "first_name": "Fuzz", "last_name": "Kuljettaja", "national_id": unique_national_id(), "phone": unique_phone(),
        "email": f"fuzz{uuid.uuid4().hex[:6]}@example.fi", "street_address": "Testitie 1", "postal_code": "00100",
        "city": "Helsinki"}))
    role = created(admin.post(f"/persons/{person['id']}/roles", json={
        "kind": "contact", "organisation_id": company["id"], "position": "Fleet contact"}))
    customer = created(admin.post("/customers", json={"party_type": "organisation", "party_id": company["id"],
                                                      "customer_type": "corporate"}))
    vehicle = created(admin.post("/vehicles", json=vehicle_body(company["id"], driver_person_id=person["id"])))
    period = dt.date.today().strftime("%Y-%m")
    contract = created(admin.post("/contracts", json=contract_body(vehicle["id"], company["id"],
                                                                   starts_on=f"{period}-01")))
    activate(admin, contract["id"])
    dealership = created(admin.post("/dealerships", json={"name": "Fuzz Autotalo Oy", "city": "Espoo"}))
    delivery = created(admin.post("/deliveries", json={"vehicle_id": vehicle["id"], "dealership_id": dealership["id"],
                                                       "order_number": "PO-1", "estimated_delivery_on": "2027-01-15"}))
    assert admin.put(f"/billing-profiles/{company['id']}", json={"method": "email", "email": "laskut@fuzz.fi"}
                     ).status_code == 200
    assert admin.post("/invoices/run", json={"period": period}).status_code == 200
    invoice = admin.get("/invoices", params={"customer_id": company["id"]}).json()["items"][0]
    case = created(admin.post("/kyc/cases", json={"customer_id": company["id"]}))
    event = created(admin.post("/marketing/events", json={"name": "Fuzz launch", "starts_at": "2027-01-01T10:00:00Z"}))
    return {"organisation_id": [company["id"]], "person_id": [person["id"]], "role_id": [role["id"]],
            "customer_id": [customer["id"], company["id"]], "vehicle_id": [vehicle["id"]],
            "contract_id": [contract["id"]], "dealership_id": [dealership["id"]], "delivery_id": [delivery["id"]],
            "invoice_id": [invoice["id"]], "case_id": [case["id"]], "event_id": [event["id"]]}


def config_file(directory: Path, ids: dict[str, list[str]]) -> Path:
    """schemathesis.toml binding path parameters and id fields of bodies to the seeded ids
    (JSON strings are valid TOML strings)."""
    lines = []
    for name, values in ids.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    lines.append("[parameters]")
    for name in ids:
        lines.append(f'"path.{name}" = {{ dictionary = "{name}", probability = 0.9 }}')
        lines.append(f'"body.{name}" = {{ dictionary = "{name}", probability = 0.7 }}')
    lines.append('"body.user_organisation_id" = { dictionary = "organisation_id", probability = 0.7 }')
    lines.append('"body.party_id" = { dictionary = "organisation_id", probability = 0.7 }')
    path = directory / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def schemathesis(stack, token, config) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "st"), "--config-file", str(config), "run",
               f"{stack.base_url}/openapi.json", "--url",
               stack.base_url, "-H", f"Authorization: Bearer {token}", "--checks",
               "not_a_server_error,response_schema_conformance,status_code_conformance", "--max-examples", EXAMPLES,
               "--phases", "coverage,fuzzing", "--request-timeout", "10", "--seed", "20261124", "--no-color",
               "--generation-database", "none"]
    for operation_id in EXCLUDED:
        command += ["--exclude-operation-id", operation_id]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def summary(result) -> str:
    return result.stdout[result.stdout.rfind("SUMMARY"):]


def test_fuzzing_finds_no_server_error_and_no_undocumented_response(fuzz_stack, tmp_path):
    admin = fuzz_stack.admin()
    ids = seed(admin)
    [company], [person] = ids["organisation_id"], ids["person_id"]
    manager_id, manager = account(fuzz_stack, admin, role="fleet_manager", scope="group", organisation_id=company)
    driver_id, driver = account(fuzz_stack, admin, role="driver", person_id=person)
    staff_id, staff = account(fuzz_stack, admin, role="staff")
    ids["account_id"] = [manager_id, driver_id, staff_id]
    config = config_file(tmp_path, ids)
    for role, token in {"fleet_manager": manager, "driver": driver, "staff": staff}.items():
        result = schemathesis(fuzz_stack, token, config)
        print(f"--- schemathesis as {role}\n{summary(result)}")
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
        assert "passed" in summary(result) and "failure" not in summary(result)
        assert "Authentication failed" not in summary(result), summary(result)
