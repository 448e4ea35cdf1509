"""API fuzzing (issues 8, 12 §7, 19): schemathesis with ALL its default checks (including
positive_data_acceptance and negative_data_rejection) against /api/v1/openapi.json of a private
stack, as a driver, a fleet manager and staff (dedicated accounts), without a token, and on
/auth/token: 0 failures means the document says exactly what the API accepts and answers.

Path parameters (and id fields of bodies) are drawn mostly from objects seeded first, so fuzzed
requests reach the handlers instead of stopping at a 404. tests/fuzz_hooks.py makes valid values
for the formats the document names (checksummed ids). The seed changes every run and is printed;
SECTO_FUZZ_SEED=<seed> replays a run.

Budget: `make test` runs the fuzzing phase on every operation with FUZZ_EXAMPLES (default 4)
cases each and the coverage phase on COVERAGE_SAMPLE operations per run, chosen by the seed, so
successive runs cover all of them; SECTO_FUZZ_FULL=1 runs the coverage phase on every operation
and 50 fuzzing cases each.

PATCH /users/{id} draws its ids from victim accounts made for it, and the operations that act on
the caller's own login or erase for good are left out (EXCLUDED, with the reason). Schemathesis
also reuses ids it read in earlier responses (its adaptive testing), so a staff run may reset
its own password through PATCH /users/{own id}, as staff may: at the end, identity sets each
fuzzing account's password and activity back, and each must then log in and work (no lockout,
no account left broken)."""
import datetime as dt
import json
import os
import random
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from nameko.standalone.rpc import ClusterRpcClient
import requests

from testing.data import (activate, contract_body, created, unique_business_id, unique_national_id, unique_phone,
                          vehicle_body)
from testing.stack import start_stack

PASSWORD = "Fuzz-password-123456"
SEED = int(os.environ.get("SECTO_FUZZ_SEED") or random.SystemRandom().randrange(2 ** 32))
FULL = os.environ.get("SECTO_FUZZ_FULL") == "1"
EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "50" if FULL else "4")
COVERAGE_SAMPLE = 12
EXCLUDED = {
    "change_password": "changes the caller's own password (and counts wrong current passwords)",
    "issue_token": "fuzzed on its own, last, so its lockout cannot throttle the other runs' logins",
    "erase_person": "erases a person for good, e.g. the fuzzing driver's own",
}
ROLES_ORDER = ("driver", "fleet_manager", "staff")


@pytest.fixture(scope="module")
def fuzz_stack():
    stack = start_stack(extra_env={"SECTO_TOKEN_TTL": "3600"})  # one run of SECTO_FUZZ_FULL lasts long
    yield stack
    stack.stop()


def account(admin, **fields) -> tuple[str, str]:
    """(account id, username) of a new account."""
    username = f"fuzz-{uuid.uuid4().hex[:8]}"
    response = admin.post("/users", json={"username": username, "password": PASSWORD, **fields})
    assert response.status_code == 201, response.text
    return response.json()["id"], username


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


def config_file(directory: Path, ids: dict[str, list[str]], field_rules=()) -> Path:
    """schemathesis.toml binding path parameters and id fields of bodies to the seeded ids
    (JSON strings are valid TOML strings)."""
    lines = ["[generation]", "allow-x00 = false  # the API refuses NUL in any text (400), as its description says", ""]
    for name, values in ids.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    lines.append("[parameters]")
    for name in ids:
        lines.append(f'"path.{name}" = {{ dictionary = "{name}", probability = 0.9 }}')
        lines.append(f'"body.{name}" = {{ dictionary = "{name}", probability = 0.7 }}')
    lines.append('"body.user_organisation_id" = { dictionary = "organisation_id", probability = 0.7 }')
    lines.append('"body.party_id" = { dictionary = "organisation_id", probability = 0.7 }')
    for operation_id in field_rules:  # valid by the schema, refused by a rule the document states in words
        lines += ["", "[[operations]]", f'include-operation-id = "{operation_id}"',
                  'checks.positive_data_acceptance.expected-statuses = '
                  '["2xx", "400", "401", "404", "409", "415", "429"]']
    path = directory / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def schemathesis(stack, config, seed, *, token=None, phases="fuzzing", include=(), exclude=EXCLUDED,
                 examples=EXAMPLES) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "st"), "--config-file", str(config), "run",
               f"{stack.base_url}/openapi.json", "--url", stack.base_url, "--max-examples", str(examples),
               "--phases", phases, "--request-timeout", "20", "--seed", str(seed), "--no-color",
               "--generation-database", "none"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    for operation_id in include:
        command += ["--include-operation-id", operation_id]
    for operation_id in exclude:
        command += ["--exclude-operation-id", operation_id]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz_hooks",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(command, capture_output=True, text=True, timeout=1200, env=env)


def token(stack, username) -> str:
    """A fresh token per run: a long run must not outlive one (SECTO_TOKEN_TTL)."""
    return stack.client().login(username, PASSWORD).token


def summary(result) -> str:
    return result.stdout[result.stdout.rfind("SUMMARY"):]


def assert_passed(name, seed, result, every_operation_authenticated=True):
    print(f"--- schemathesis {name} (seed {seed}; replay with SECTO_FUZZ_SEED={SEED})\n{summary(result)}")
    assert result.returncode == 0, (f"{name}, seed {seed} (SECTO_FUZZ_SEED={SEED}):\n"
                                    + result.stdout[-8000:] + result.stderr[-2000:])
    assert "passed" in summary(result) and "failure" not in summary(result), summary(result)
    assert not every_operation_authenticated or "Authentication failed" not in summary(result), summary(result)


def documented_operations(stack) -> list[dict]:
    spec = requests.get(f"{stack.base_url}/openapi.json", timeout=30).json()
    return [operation for path in spec["paths"].values() for operation in path.values()]


def test_fuzzing_finds_no_mismatch_between_the_document_and_the_api(fuzz_stack, tmp_path):
    print(f"fuzz seed {SEED} (replay: SECTO_FUZZ_SEED={SEED})")
    rng = random.Random(SEED)
    admin = fuzz_stack.admin()
    ids = seed(admin)
    [company], [person] = ids["organisation_id"], ids["person_id"]
    fuzzing_accounts = {"fleet_manager": account(admin, role="fleet_manager", scope="group", organisation_id=company),
                        "driver": account(admin, role="driver", person_id=person),
                        "staff": account(admin, role="staff")}
    usernames = {role: username for role, (_, username) in fuzzing_accounts.items()}
    # the only accounts PATCH /users/{account_id} is pointed at: never a fuzzing account
    ids["account_id"] = [account(admin, role="fleet_manager", scope="company", organisation_id=company)[0],
                         account(admin, role="staff")[0]]
    operations = documented_operations(fuzz_stack)
    config = config_file(tmp_path, ids, [operation["operationId"] for operation in operations
                                         if "x-field-rules" in operation])
    fuzzed = sorted(operation["operationId"] for operation in operations if operation["operationId"] not in EXCLUDED)
    for number, role in enumerate(ROLES_ORDER):
        run_seed = SEED + number
        assert_passed(f"as {role}, fuzzing", run_seed,
                      schemathesis(fuzz_stack, config, run_seed, token=token(fuzz_stack, usernames[role])))
        # the coverage phase also sends requests without a token, and an operation whose few
        # cases all lack it warns "Authentication failed"; the logins at the end check the accounts
        assert_passed(f"as {role}, coverage", run_seed,
                      schemathesis(fuzz_stack, config, run_seed, token=token(fuzz_stack, usernames[role]),
                                   phases="coverage", include=fuzzed if FULL else rng.sample(fuzzed, COVERAGE_SAMPLE)),
                      every_operation_authenticated=False)
    assert_passed("without a token", SEED + 10, schemathesis(fuzz_stack, config, SEED + 10, examples=2),
                  every_operation_authenticated=False)
    assert_passed("/auth/token", SEED + 11, schemathesis(fuzz_stack, config, SEED + 11, phases="coverage,fuzzing",
                                                         include=("issue_token",), exclude=()),
                  every_operation_authenticated=False)
    # through identity itself: the fuzzer may as well have reset the admin's password
    with ClusterRpcClient(uri=fuzz_stack.amqp_uri, context_data={"role": "staff"}) as rpc:
        for account_id, _ in fuzzing_accounts.values():
            rpc.identity.update_account(account_id, {"password": PASSWORD, "active": True})
    for role, (account_id, username) in fuzzing_accounts.items():  # every fuzzing account still works
        client = fuzz_stack.client().login(username, PASSWORD)
        assert client.get("/organisations" if role != "driver" else "/me/trips").status_code == 200, role
