"""Object-level authorisation matrix (issue 4): two corporate groups, each a parent and a
child company; staff, fleet managers of both scopes in every company, and drivers. Every
identity object endpoint is tried with every account: the answer is the object when the
caller may see it and 404 otherwise — never another status, never a leak."""
import pytest

from tests.test_partner_fueling import partner  # noqa: F401  (fixture)

GROUPS = {"g1": ("p1", "c1"), "g2": ("p2", "c2")}
COMPANIES = [company for members in GROUPS.values() for company in members]


def group_of(company):
    return next(members for members in GROUPS.values() if company in members)


@pytest.fixture(scope="module")
def world(admin, stack):
    from testing.data import unique_business_id, unique_national_id, unique_phone

    def post(path, body):
        response = admin.post(path, json=body)
        assert response.status_code == 201, response.text
        return response.json()

    orgs, persons, customers, accounts, callers = {}, {}, {}, {}, {"staff": (None, admin)}
    for members in GROUPS.values():
        parent, child = members
        orgs[parent] = post("/organisations", {"name": f"Matrix {parent}", "business_id": unique_business_id()})
        orgs[child] = post("/organisations", {"name": f"Matrix {child}", "business_id": unique_business_id(),
                                              "parent_id": orgs[parent]["id"]})
    for company in COMPANIES:
        persons[company] = post("/persons", {"first_name": "Matrix", "last_name": company,
                                             "national_id": unique_national_id(), "phone": unique_phone()})
        post(f"/persons/{persons[company]['id']}/roles", {"kind": "contact", "organisation_id": orgs[company]["id"],
                                                           "position": "Fleet contact"})
        customers[company] = post("/customers", {"party_type": "organisation", "party_id": orgs[company]["id"],
                                                 "customer_type": "corporate"})
        for scope in ("company", "group"):
            name = f"fm-{scope}-{company}-{orgs[company]['id'][:6]}"
            accounts[f"fm_{scope}_{company}"] = post("/users", {"username": name, "password": "Matrix-password-1",
                                                                "role": "fleet_manager", "scope": scope,
                                                                "organisation_id": orgs[company]["id"]})
            callers[f"fm_{scope}_{company}"] = (company, stack.client().login(name, "Matrix-password-1"))
        name = f"drv-{company}-{orgs[company]['id'][:6]}"
        accounts[f"driver_{company}"] = post("/users", {"username": name, "password": "Matrix-password-1",
                                                        "role": "driver", "person_id": persons[company]["id"],
                                                        "organisation_id": orgs[company]["id"]})
        callers[f"driver_{company}"] = (company, stack.client().login(name, "Matrix-password-1"))
    objects = [("/organisations", company, orgs[company]) for company in COMPANIES]
    objects += [("/persons", company, persons[company]) for company in COMPANIES]
    objects += [("/customers", company, customers[company]) for company in COMPANIES]
    objects += [("/users", name.rsplit("_", 1)[1], account) for name, account in accounts.items()]
    return {"callers": callers, "objects": objects, "orgs": {company: orgs[company]["id"] for company in COMPANIES},
            "persons": persons}


def may_read(caller, caller_company, object_company):
    if caller == "staff":
        return True
    if caller.startswith("driver_"):
        return False
    scope = caller.split("_")[1]
    return object_company == caller_company if scope == "company" else object_company in group_of(caller_company)


def may_update(caller, caller_company, collection, object_company):
    if caller == "staff":
        return True
    return collection == "/users" and may_read(caller, caller_company, object_company)


UPDATES = {"/organisations": {"city": "Matrixville"}, "/persons": {"city": "Matrixville"},
           "/customers": {"contract_types": ["Finance Leasing"]}, "/users": {"active": True}}
CALLERS = ["staff"] + [f"fm_{scope}_{company}" for company in COMPANIES for scope in ("company", "group")] + \
          [f"driver_{company}" for company in COMPANIES]


def all_ids(client, collection):
    ids, cursor = set(), None
    while True:
        response = client.get(collection, params={"limit": 200, **({"cursor": cursor} if cursor else {})})
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        body = response.json()
        ids |= {item["id"] for item in body["items"]}
        cursor = body["next_cursor"]
        if not cursor:
            return ids


@pytest.mark.parametrize("caller", CALLERS)
def test_reads_and_updates_answer_the_object_or_404(world, caller):
    caller_company, client = world["callers"][caller]
    mismatches = []
    for collection, object_company, obj in world["objects"]:
        url = f"{collection}/{obj['id']}"
        expected = 200 if may_read(caller, caller_company, object_company) else 404
        read = client.get(url)
        if read.status_code != expected or (expected == 200 and read.json()["id"] != obj["id"]):
            mismatches.append(("GET", url, expected, read.status_code))
        if expected == 404 and obj["id"] in read.text:
            mismatches.append(("GET leak", url))
        if expected == 200 and collection == "/persons" and ("national_id" in read.json()) != (caller == "staff"):
            mismatches.append(("national_id visibility", url))
        expected = 200 if may_update(caller, caller_company, collection, object_company) else 404
        update = client.patch(url, json=UPDATES[collection])
        if update.status_code != expected:
            mismatches.append(("PATCH", url, expected, update.status_code, update.text[:120]))
    assert mismatches == []


@pytest.mark.parametrize("caller", CALLERS)
def test_lists_contain_exactly_what_the_caller_may_see(world, caller):
    caller_company, client = world["callers"][caller]
    mismatches = []
    for collection in ("/organisations", "/persons", "/customers", "/users"):
        listed = all_ids(client, collection)
        for obj_collection, object_company, obj in world["objects"]:
            if obj_collection != collection:
                continue
            allowed = may_read(caller, caller_company, object_company)
            if listed is None:
                if allowed:
                    mismatches.append((collection, "list refused"))
            elif (obj["id"] in listed) != allowed:
                mismatches.append((collection, obj["id"], "expected" if allowed else "leaked"))
    assert mismatches == []


@pytest.mark.parametrize("caller", CALLERS)
def test_sub_resources_follow_the_person(world, caller):
    caller_company, client = world["callers"][caller]
    for collection, object_company, obj in world["objects"]:
        if collection == "/persons":
            expected = 200 if may_read(caller, caller_company, object_company) else 404
            assert client.get(f"/persons/{obj['id']}/roles").status_code == expected
        if collection == "/customers":
            expected = 200 if may_read(caller, caller_company, object_company) else 404
            assert client.get(f"/customers/{obj['id']}/history").status_code == expected


# --- issue 12 §2: fleet data is scoped by who owned it then, not where the car is now ------

VEHICLE_ROWS = {"trips": "organisation_id", "fuelings": "organisation_id", "history": "user_organisation_id",
                "odometer": "organisation_id", "service-events": "organisation_id"}


def visible_orgs(world, caller):
    """The organisation ids a caller may read fleet data of; None for staff (all)."""
    caller_company, _ = world["callers"][caller]
    if caller == "staff":
        return None
    if caller.startswith("driver_"):
        return set()
    return {world["orgs"][company] for company in COMPANIES if may_read(caller, caller_company, company)}


@pytest.fixture(scope="module")
def relet(world, admin, partner):
    """A car used by c1 (its driver's private trip, a fueling, odometer, maintenance, contract),
    then re-leased to c2 with c2's driver, who does the same."""
    from shared.waiting import wait_for
    from testing.data import random_plate
    from tests.test_partner_fueling import fueling, my_fuelings

    name, publisher, _ = partner
    orgs, persons, callers = world["orgs"], world["persons"], world["callers"]

    def ok(response, status=200):
        assert response.status_code == status, response.text
        return response.json()

    def contract_for(company):
        deal = ok(admin.post("/contracts", json={
            "vehicle_id": car["id"], "customer_id": orgs[company], "contract_type": "Finance Leasing",
            "starts_on": "2026-01-01", "length_months": 36, "lease_rent": "400", "included_km": 60000}), 201)
        for status in ("awaiting_delivery", "active"):
            ok(admin.patch(f"/contracts/{deal['id']}", json={"status": status}))
        return deal

    def use(company, km, month, kind):
        driver = callers[f"driver_{company}"][1]
        wait_for(lambda: driver.get("/me").json().get("vehicle_id") == car["id"], timeout=30)
        ok(admin.post(f"/vehicles/{car['id']}/odometer", json={"km": km, "read_on": f"2026-{month}-01",
                                                               "source": "customer"}), 201)
        ok(admin.post(f"/vehicles/{car['id']}/service-events", json={"occurred_on": f"2026-{month}-02",
                                                                     "kind": kind}), 201)
        ok(driver.post("/me/trips", json={"started_at": f"2026-{month}-03T08:00:00+02:00",
                                          "ended_at": f"2026-{month}-03T09:00:00+02:00",
                                          "odometer_start": km, "odometer_end": km + 40,
                                          "trip_type": "private", "start_point": f"Secret cottage {company}",
                                          "end_point": f"Secret lake {company}"}), 201)
        publisher.publish(fueling(partner=name, phone=persons[company]["phone"],
                                  registration_number=car["registration_number"]))
        wait_for(lambda: my_fuelings(driver), timeout=30)

    car = ok(admin.post("/vehicles", json={
        "registration_number": random_plate(), "vin": "WVWZZZ1JZXW000001", "make": "Skoda", "model": "Octavia",
        "vehicle_class": "passenger_car", "power_source": "diesel", "co2_g_per_km": 120,
        "user_organisation_id": orgs["c1"], "driver_person_id": persons["c1"]["id"]}), 201)
    former = contract_for("c1")
    use("c1", 1000, "02", "maintenance")
    ok(admin.patch(f"/contracts/{former['id']}", json={"status": "terminated"}))
    ok(admin.patch(f"/vehicles/{car['id']}", json={"user_organisation_id": orgs["c2"],
                                                    "driver_person_id": persons["c2"]["id"]}))
    current = contract_for("c2")
    use("c2", 1040, "06", "wash")
    return {"car": car, "contracts": {"c1": former, "c2": current}}


@pytest.mark.parametrize("caller", CALLERS)
def test_a_re_leased_cars_data_stays_with_the_company_that_used_it_then(world, relet, caller):
    _, client = world["callers"][caller]
    orgs, visible = world["orgs"], visible_orgs(world, caller)
    car = relet["car"]["id"]
    mismatches = []
    for sub, owner in VEHICLE_ROWS.items():
        response = client.get(f"/vehicles/{car}/{sub}", params={"limit": 200})
        used_it = visible is None or visible & {orgs["c1"], orgs["c2"]}
        if not used_it:
            if response.status_code != 404:
                mismatches.append((sub, "expected 404", response.status_code))
            continue
        if response.status_code != 200:
            mismatches.append((sub, "expected 200", response.status_code, response.text[:200]))
            continue
        items = response.json()["items"]
        owners = {item[owner] for item in items}
        if not items or (visible is not None and not owners <= visible):
            mismatches.append((sub, "rows of", owners))
        if caller != "staff" and "Secret" in response.text:
            mismatches.append((sub, "a private trip's places shown to a fleet manager"))
    for company, deal in relet["contracts"].items():
        expected = 200 if visible is None or orgs[company] in visible else 404
        status = client.get(f"/contracts/{deal['id']}").status_code
        if status != expected:
            mismatches.append(("contract of", company, expected, status))
    view = client.get(f"/vehicles/{car}")
    if view.status_code != (200 if visible is None or orgs["c2"] in visible else 404):
        mismatches.append(("GET /vehicles/{id}", view.status_code))
    elif view.status_code == 200:
        body = view.json()
        if body["contract"]["id"] != relet["contracts"]["c2"]["id"]:
            mismatches.append(("aggregated contract", body["contract"]["id"]))
        if body["latest_odometer"]["organisation_id"] != orgs["c2"]:
            mismatches.append(("aggregated odometer", body["latest_odometer"]))
        if visible is not None and ({f["organisation_id"] for f in body["usage"]["latest_fuelings"]} != {orgs["c2"]}
                                    or body["usage"]["trips"]["count"] != 1):
            mismatches.append(("aggregated usage", body["usage"]))
    if caller == "staff":
        trips = client.get(f"/vehicles/{car}/trips").json()["items"]
        assert {trip["start_point"] for trip in trips} == {"Secret cottage c1", "Secret cottage c2"}
    assert mismatches == []


@pytest.mark.parametrize("company", ["c1", "c2"])
def test_a_driver_sees_their_own_trips_and_fuelings_only(world, relet, company):
    _, driver = world["callers"][f"driver_{company}"]
    person = world["persons"][company]["id"]
    for path in ("/me/trips", "/me/fuelings"):
        items = driver.get(path, params={"limit": 200}).json()["items"]
        assert items and {item["person_id"] for item in items} == {person}
    assert [trip["start_point"] for trip in driver.get("/me/trips").json()["items"]] == [f"Secret cottage {company}"]


LIST_FILTERS = {"/contracts": ("customer_id", ["customer_id", "vehicle_id", "driver_person_id"]),
                "/vehicles": ("user_organisation_id", ["user_organisation_id", "driver_person_id"]),
                "/invoices": ("customer_id", ["customer_id"])}
REPORTS = {"/reports/fuel": "user_organisation_id", "/reports/contracts-ending?days=3650": "customer_id",
           "/reports/km-overrun": "user_organisation_id", "/reports/co2-by-cost-center": "user_organisation_id"}


@pytest.mark.parametrize("caller", CALLERS)
def test_list_filters_and_reports_never_reach_another_company(world, relet, caller):
    """?customer_id=, ?vehicle_id=, ?driver_person_id= of any company: an empty list or 404
    unless the caller may read it; every report row is the caller's."""
    _, client = world["callers"][caller]
    visible = visible_orgs(world, caller)
    values = {"customer_id": world["orgs"].values(), "user_organisation_id": world["orgs"].values(),
              "vehicle_id": [relet["car"]["id"]], "driver_person_id": [p["id"] for p in world["persons"].values()]}
    mismatches = []
    for collection, (owner, filters) in LIST_FILTERS.items():
        for name in filters:
            for value in values[name]:
                response = client.get(collection, params={name: value, "limit": 200})
                if response.status_code == 404 and visible is not None:
                    continue
                if response.status_code != 200:
                    mismatches.append((collection, name, response.status_code))
                    continue
                owners = {item[owner] for item in response.json()["items"]}
                if visible is not None and not owners <= visible:
                    mismatches.append((collection, name, value, "leaked", owners - visible))
    for report, owner in REPORTS.items():
        response = client.get(report, params={"limit": 200})
        if response.status_code == 404 and visible is not None:
            continue
        owners = {row[owner] for row in response.json()["items"]}
        if visible is not None and not owners <= visible:
            mismatches.append((report, "leaked", owners - visible))
    assert mismatches == []
