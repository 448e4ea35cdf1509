"""Retention through the real stack (issue 18): the schedule over HTTP, a relationship ended in
identity reaching KYC as an event and purging the case 5 years + 1 day later, and two driver
replicas whose timers remove each expired location ping once."""
import datetime as dt
import uuid

import pytest
from nameko.standalone.rpc import ClusterRpcClient

from deploy.local import retention_dry_run
from shared.config import SERVICES
from shared.testing import start_stack
from shared.waiting import wait_for
from tests.conftest import unique_national_id, unique_phone
from tests.test_metrics import sample, scrape

PASSWORD = "Long-enough-password-1"


def _years_ago(years, days=0) -> dt.date:
    today = dt.date.today()
    return today.replace(year=today.year - years) - dt.timedelta(days=days)


def test_the_schedule_is_served_read_only_to_staff(stack, admin, make_user, make_person):
    response = admin.get("/retention")
    assert response.status_code == 200, response.text
    rules = {(r["service"], r["category"]): r for r in response.json()["items"]}
    assert {service for service, _ in rules} == set(SERVICES)
    assert rules[("kyc", "cases")]["period"] == "5y" and "444/2017" in rules[("kyc", "cases")]["legal_basis"]
    assert rules[("billing", "invoices")]["from_year_end"] is True
    assert all(r["legal_basis"] and r["starts"] and r["period"] for r in rules.values())
    _, driver = make_user("driver", person_id=make_person()["id"])
    assert driver.get("/retention").status_code == 404
    assert admin.post("/retention", json={}).status_code in (404, 405)


def _ended_customer_with_kyc_case(admin, make_person, ended_on):
    person = make_person()
    customer = admin.post("/customers", json={"party_type": "person", "party_id": person["id"],
                                              "customer_type": "private", "status": "customer"})
    assert customer.status_code == 201, customer.text
    case = admin.post("/kyc/cases", json={"customer_id": person["id"], "document_type": "passport"})
    assert case.status_code == 201, case.text
    ended = admin.patch(f"/customers/{customer.json()['id']}", json={"status": "former",
                                                                      "ended_on": ended_on.isoformat()})
    assert ended.status_code == 200, ended.text
    case_id = case.json()["id"]
    wait_for(lambda: admin.get(f"/kyc/cases/{case_id}").json()["relationship_ended_on"] == ended_on.isoformat(),
             timeout=15)
    return person, case_id


def test_ending_the_relationship_dates_the_kyc_case_and_the_timer_purges_it_5_years_and_a_day_later(
        stack, admin, make_person, monkeypatch, capsys):
    _, expired = _ended_customer_with_kyc_case(admin, make_person, _years_ago(5, days=1))
    kept_person, kept = _ended_customer_with_kyc_case(admin, make_person, _years_ago(5))

    monkeypatch.setenv("AMQP_URI", stack.amqp_uri)
    assert retention_dry_run.main([]) == 0
    plan = {tuple(line.split()[:2]): line.split()[-1] for line in capsys.readouterr().out.splitlines()[1:]}
    assert int(plan[("kyc", "cases")]) >= 1 and plan[("driver", "driver_profiles")] == "-"
    assert {service for service, _ in plan} == set(SERVICES)

    with ClusterRpcClient(uri=stack.amqp_uri) as rpc:
        assert rpc.kyc.run_retention(dry_run=True)["would_remove"]["cases"] >= 1
        assert admin.get(f"/kyc/cases/{expired}").status_code == 200  # the dry run removed nothing
        wait_for(lambda: rpc.kyc.run_retention()["ran"], timeout=30)
    assert admin.get(f"/kyc/cases/{expired}").status_code == 404
    assert admin.get(f"/kyc/cases/{kept}").status_code == 200

    report = admin.post(f"/persons/{kept_person['id']}/erase")
    assert report.status_code == 200, report.text
    [kyc] = report.json()["services"]["kyc"]["retained"]
    assert kyc["until"] == dt.date.today().isoformat()


def _metric(port, name, **labels) -> float:
    return sample(scrape(port), name, **labels)


@pytest.fixture(scope="module")
def two_drivers():
    stack = start_stack(scale={"driver": 2}, extra_env={"SECTO_RETENTION_INTERVAL": "2"})
    yield stack
    stack.stop()


def test_two_driver_replicas_remove_each_expired_ping_once_and_the_export_shows_what_remains(two_drivers):
    admin = two_drivers.admin()
    person = admin.post("/persons", json={"first_name": "Ping", "last_name": "Test", "phone": unique_phone(),
                                          "national_id": unique_national_id()}).json()
    username = f"drv-{uuid.uuid4().hex[:8]}"
    assert admin.post("/users", json={"username": username, "password": PASSWORD, "role": "driver",
                                      "person_id": person["id"]}).status_code == 201
    driver = two_drivers.client().login(username, PASSWORD)
    assert driver.put("/me/consents/location_tracking", json={"status": "granted", "source": "app"}).status_code == 200
    now = dt.datetime.now(dt.timezone.utc)
    recent = {"lat": 60.17, "lon": 24.94, "at": (now - dt.timedelta(days=1)).isoformat()}
    wait_for(lambda: driver.post("/me/location", json=recent).status_code == 201, timeout=15)
    old = 40
    for minute in range(old):
        ping = {"lat": 60.0, "lon": 24.0, "at": (now - dt.timedelta(days=31, minutes=minute)).isoformat()}
        assert driver.post("/me/location", json=ping).status_code == 201

    ports = two_drivers.stack.metrics_ports["driver"]
    assert len(ports) == 2

    def removed():
        return sum(_metric(port, "secto_retention_removed_total", service="driver", category="location_pings")
                   for port in ports)
    wait_for(lambda: removed() >= old and len(driver.get("/me/location").json()["items"]) == 1, timeout=60)
    wait_for(lambda: all(_metric(port, "secto_retention_runs_total", service="driver") >= 3 for port in ports),
             timeout=60)  # both replicas' timers kept firing after the purge
    assert removed() == old  # each row once, whichever replica held the lease
    export = admin.get(f"/persons/{person['id']}/export")
    assert export.status_code == 200, export.text
    assert [p["lat"] for p in export.json()["driver"]["location"]["items"]] == [60.17]


def test_identitys_schedule_erases_a_prospect_everywhere_through_each_services_erase_person(two_drivers):
    """Erasure's one trigger: identity's prospects rule calls every other service's erase_person
    (as the staff erasure does) before it anonymises the person itself."""
    admin = two_drivers.admin()
    person = admin.post("/persons", json={"first_name": "Pia", "last_name": "Prospect", "phone": unique_phone(),
                                          "email": f"pia-{uuid.uuid4().hex[:8]}@example.fi"}).json()
    wait_for(lambda: admin.get(f"/marketing/contacts/{person['id']}").status_code == 200, timeout=15)
    wait_for(lambda: admin.get(f"/persons/{person['id']}/export").json()["driver"]["profile"]["data"], timeout=15)
    later = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3 * 365)).isoformat()
    with ClusterRpcClient(uri=two_drivers.amqp_uri) as rpc:
        run = wait_for(lambda: (result := rpc.identity.run_retention(now=later))["ran"] and result, timeout=60)
    assert run["removed"]["prospects"] >= 1
    export = admin.get(f"/persons/{person['id']}/export").json()
    assert export["identity"]["person"]["first_name"] == "Erased" and export["identity"]["person"]["email"] is None
    assert (export["marketing"]["contact"]["first_name"], export["marketing"]["contact"]["email"]) == (None, None)
    assert export["driver"]["profile"]["data"]["phone"] is None
