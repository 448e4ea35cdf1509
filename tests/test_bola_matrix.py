"""Object-level authorisation matrix (issue 4): two corporate groups, each a parent and a
child company; staff, fleet managers of both scopes in every company, and drivers. Every
identity object endpoint is tried with every account: the answer is the object when the
caller may see it and 404 otherwise — never another status, never a leak."""
import pytest

GROUPS = {"g1": ("p1", "c1"), "g2": ("p2", "c2")}
COMPANIES = [company for members in GROUPS.values() for company in members]


def group_of(company):
    return next(members for members in GROUPS.values() if company in members)


@pytest.fixture(scope="module")
def world(admin, stack):
    from tests.conftest import unique_business_id, unique_national_id, unique_phone

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
    return {"callers": callers, "objects": objects}


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
