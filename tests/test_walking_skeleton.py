"""The skeleton end to end: real broker, every service process, the gateway over HTTP."""
import json

import requests

from shared.waiting import wait_for
from testing.data import unique_national_id


class TestHealth:
    def test_every_component_is_ok(self, stack):
        response = requests.get(f"{stack.base_url}/health", timeout=10)
        assert response.status_code == 200
        assert response.json()["components"] == {name: "ok" for name in
                                                  ("gateway", "identity", "fleet", "driver", "billing", "kyc",
                                                   "marketing")}


class TestIdentitySlice:
    def test_staff_creates_org_person_user_and_the_user_logs_in(self, stack, admin, make_org, make_person):
        org = make_org()
        person = make_person()
        user = admin.post("/users", json={"username": f"fm-{org['id'][:8]}", "password": "Fleet-manager-pass-1",
                                          "role": "fleet_manager", "organisation_id": org["id"],
                                          "person_id": person["id"]})
        assert user.status_code == 201, user.text
        assert "password" not in user.json()
        manager = stack.client().login(f"fm-{org['id'][:8]}", "Fleet-manager-pass-1")
        assert manager.get(f"/organisations/{org['id']}").json()["name"] == org["name"]

    def test_person_is_read_back_masked(self, admin, make_person):
        person = make_person()
        read = admin.get(f"/persons/{person['id']}").json()
        assert read["national_id"] == person["national_id"]
        assert len(read["national_id"]) == 11 and read["national_id"].endswith("****")

    def test_staff_finds_a_person_by_exact_national_id(self, admin, make_person):
        national_id = unique_national_id()
        person = make_person(national_id=national_id)
        found = admin.post("/persons/search", json={"national_id": national_id}).json()
        assert [item["id"] for item in found["items"]] == [person["id"]]

    def test_lists_page_with_a_cursor(self, admin, make_org):
        for _ in range(3):
            make_org()
        first = admin.get("/organisations", params={"limit": 2}).json()
        assert len(first["items"]) == 2 and first["next_cursor"]
        second = admin.get("/organisations", params={"limit": 2, "cursor": first["next_cursor"]}).json()
        assert not {o["id"] for o in first["items"]} & {o["id"] for o in second["items"]}


class TestHttpConventions:
    def test_missing_or_bad_token_is_401_json(self, stack):
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
            response = requests.get(f"{stack.base_url}/persons", headers=headers, timeout=10)
            assert response.status_code == 401
            assert response.json()["error"] == "unauthorized"

    def test_wrong_password_is_401(self, stack):
        response = requests.post(f"{stack.base_url}/auth/token", json={"username": "test-admin", "password": "x"},
                                 timeout=10)
        assert response.status_code == 401 and response.json()["error"] == "invalid_credentials"

    def test_invalid_values_and_unknown_fields_are_400_with_field_messages(self, admin):
        response = admin.post("/persons", json={"first_name": "A", "last_name": "B", "national_id": "131052-308U",
                                                "phone": "12", "postal_code": "1234", "email": "x", "shoe": 42})
        assert response.status_code == 400
        details = response.json()["details"]
        assert set(details) == {"national_id", "phone", "postal_code", "email", "shoe"}
        assert "131052-308U" not in response.text

    def test_invalid_business_id_is_400(self, admin):
        response = admin.post("/organisations", json={"name": "X", "business_id": "0737546-3"})
        assert response.status_code == 400 and "business_id" in response.json()["details"]

    def test_invalid_json_non_json_and_huge_bodies(self, admin):
        assert admin.post("/organisations", data="{bad", headers={"Content-Type": "application/json"}
                          ).status_code == 400
        assert admin.post("/organisations", data="name=x").status_code == 415
        huge = admin.post("/organisations", data=b"x" * (1024 * 1024 + 1),
                          headers={"Content-Type": "application/json"})
        assert huge.status_code == 413 and huge.json()["error"] == "payload_too_large"

    def test_unknown_ids_routes_and_methods(self, admin):
        assert admin.get("/persons/00000000-0000-0000-0000-000000000000").status_code == 404
        assert admin.get("/no-such-thing").json()["error"] == "not_found"
        assert admin.delete("/health").status_code == 405

    def test_page_size_is_capped(self, admin):
        assert admin.get("/persons", params={"limit": 201}).status_code == 400
        assert admin.get("/persons", params={"cursor": "forged"}).status_code == 400

    def test_duplicate_username_is_409(self, admin, make_person):
        body = {"username": "dup-user-x1", "password": "Long-enough-password-1", "role": "staff"}
        admin.post("/users", json=body)
        assert admin.post("/users", json=body).status_code == 409

    def test_only_staff_creates(self, make_user, make_org):
        org = make_org()
        _, manager = make_user("fleet_manager", organisation_id=org["id"])
        assert manager.post("/organisations", json={"name": "X", "business_id": "1234567-1"}).status_code == 404
        assert manager.post("/persons", json={"first_name": "a", "last_name": "b"}).status_code == 404

    def test_correlation_id_is_echoed_and_logged_by_every_process(self, stack, admin):
        response = admin.post("/persons", json={"first_name": "Corr", "last_name": "Elation"},
                              headers={"X-Request-ID": "trace-me-123"})
        assert response.headers["X-Request-ID"] == "trace-me-123"

        def components_that_logged_it():
            lines = [json.loads(line) for line in stack.log_path.read_text().splitlines()
                     if "trace-me-123" in line and line.startswith("{")]
            return {"gateway", "identity", "driver"} <= {line.get("component") for line in lines}

        wait_for(components_that_logged_it, timeout=10)


class TestOpenApi:
    def test_spec_and_docs_are_served(self, stack):
        spec = requests.get(f"{stack.base_url}/openapi.json", timeout=10).json()
        assert spec["openapi"].startswith("3.") and "/persons" in spec["paths"]
        assert "identity.PersonCreate" in spec["components"]["schemas"]
        docs = requests.get(f"{stack.base_url}/docs", timeout=10)
        assert docs.status_code == 200 and "swagger-ui" in docs.text
