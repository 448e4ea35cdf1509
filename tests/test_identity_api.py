"""Identity & access through the gateway (issue 4), beyond the scoping matrix."""
import pytest
from nameko.standalone.rpc import ClusterRpcClient

from shared.waiting import wait_for
from testing.data import unique_national_id


@pytest.fixture
def company_with_manager(make_org, make_user):
    company = make_org()
    account, manager = make_user("fleet_manager", organisation_id=company["id"])
    return company, account, manager


class TestParties:
    def test_roles_link_a_person_to_a_company(self, admin, make_org, make_person):
        company, person = make_org(), make_person()
        contact = admin.post(f"/persons/{person['id']}/roles", json={"kind": "contact", "organisation_id":
                                                                     company["id"], "position": "Fleet chief"})
        car_user = admin.post(f"/persons/{person['id']}/roles", json={"kind": "car_user", "registration_number":
                                                                      "abc-123", "organisation_id": company["id"]})
        assert contact.status_code == 201 and car_user.json()["registration_number"] == "ABC-123"
        kinds = {role["kind"] for role in admin.get(f"/persons/{person['id']}/roles").json()["items"]}
        assert kinds == {"contact", "car_user"}
        assert admin.delete(f"/persons/{person['id']}/roles/{contact.json()['id']}").status_code == 204
        assert len(admin.get(f"/persons/{person['id']}/roles").json()["items"]) == 1

    def test_role_needs_what_its_kind_names(self, admin, make_person):
        person = make_person()
        response = admin.post(f"/persons/{person['id']}/roles", json={"kind": "decision_maker"})
        assert response.status_code == 400 and "registration_number" in response.json()["details"]

    def test_update_person_and_organisation(self, admin, make_org, make_person):
        person, company = make_person(), make_org()
        assert admin.patch(f"/persons/{person['id']}", json={"city": "Tampere", "postal_code": "33100"}
                           ).json()["city"] == "Tampere"
        assert admin.patch(f"/organisations/{company['id']}", json={"city": "Espoo"}).json()["city"] == "Espoo"
        assert admin.patch(f"/persons/{person['id']}", json={"postal_code": "331"}).status_code == 400

    def test_group_cycle_is_409(self, admin, make_org):
        parent = make_org()
        child = make_org(parent_id=parent["id"])
        response = admin.patch(f"/organisations/{parent['id']}", json={"parent_id": child["id"]})
        assert response.status_code == 409 and response.json()["error"] == "group_cycle"


class TestCustomers:
    def test_prospect_becomes_customer_then_former_with_history(self, admin, make_org):
        company = make_org()
        customer = admin.post("/customers", json={"party_type": "organisation", "party_id": company["id"],
                                                  "customer_type": "corporate", "contract_types": ["Finance Leasing"],
                                                  "external_user_ids": {"crm": "C-77"}}).json()
        assert customer["status"] == "prospect"
        assert admin.patch(f"/customers/{customer['id']}", json={"status": "former"}).status_code == 409
        became = admin.patch(f"/customers/{customer['id']}", json={"status": "customer"}).json()
        assert became["status"] == "customer" and became["started_on"]
        admin.post(f"/customers/{customer['id']}/service-orders", json={
            "what": "Winter tyres", "ordered_at": "2026-11-01T09:00:00+02:00", "content": "Change", "status": "done"})
        assert admin.post(f"/customers/{customer['id']}/satisfaction", json={
            "score": 11, "responded_on": "2026-11-02"}).status_code == 400
        admin.post(f"/customers/{customer['id']}/satisfaction", json={"score": 9, "responded_on": "2026-11-02",
                                                                       "comment": "Quick"})
        history = admin.get(f"/customers/{customer['id']}/history").json()
        assert [o["what"] for o in history["service_orders"]] == ["Winter tyres"]
        assert [r["score"] for r in history["satisfaction"]] == [9]

    def test_unknown_party_is_404(self, admin):
        response = admin.post("/customers", json={"party_type": "person", "party_id":
                                                  "00000000-0000-0000-0000-000000000000", "customer_type": "private"})
        assert response.status_code == 404


class TestAccounts:
    def test_six_wrong_passwords_lock_the_account_with_retry_after(self, stack, admin):
        admin.post("/users", json={"username": "lock-me-1", "password": "Long-enough-password-1", "role": "staff"})
        statuses = [stack.client().request("POST", "/auth/token", json={"username": "lock-me-1",
                                                                        "password": "wrong"}).status_code
                    for _ in range(5)]
        assert statuses == [401] * 5
        locked = stack.client().post("/auth/token", json={"username": "lock-me-1",
                                                          "password": "Long-enough-password-1"})
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0

    def test_deactivated_accounts_token_stops_working_at_once(self, admin, company_with_manager):
        _, account, manager = company_with_manager
        assert manager.get("/organisations").status_code == 200
        assert admin.patch(f"/users/{account['id']}", json={"active": False}).json()["active"] is False
        assert manager.get("/organisations").status_code == 401

    def test_password_change_policy_and_revocation(self, stack, make_user):
        account, user = make_user("staff")
        assert user.put("/me/password", json={"current_password": "Long-enough-password-1",
                                              "new_password": "short"}).status_code == 400
        assert user.put("/me/password", json={"current_password": "Long-enough-password-1",
                                              "new_password": account["username"]}).status_code == 400
        assert user.put("/me/password", json={"current_password": "Long-enough-password-1",
                                              "new_password": "A-new-long-password"}).status_code == 204
        assert user.get("/persons").status_code == 401
        assert stack.client().login(account["username"], "A-new-long-password").get("/persons").status_code == 200

    def test_a_manager_may_not_escalate_its_scope(self, company_with_manager):
        _, account, manager = company_with_manager
        response = manager.patch(f"/users/{account['id']}", json={"scope": "group"})
        assert response.status_code == 400 and "scope" in response.json()["details"]


class TestPersonalDataProtection:
    def test_a_fleet_manager_never_sees_a_national_id(self, admin, make_person, company_with_manager):
        company, _, manager = company_with_manager
        person = make_person()
        admin.post(f"/persons/{person['id']}/roles", json={"kind": "contact", "organisation_id": company["id"]})
        assert "national_id" not in manager.get(f"/persons/{person['id']}").json()
        assert all("national_id" not in item for item in manager.get("/persons").json()["items"])
        search = manager.post("/persons/search", json={"national_id": unique_national_id()})
        assert search.status_code == 404

    def test_a_national_id_in_a_url_is_refused(self, admin):
        national_id = unique_national_id()
        response = admin.get("/persons", params={"national_id": national_id})
        assert response.status_code == 400 and "national_id" in response.json()["details"]

    def test_reads_are_audit_logged_with_actor_and_correlation_id(self, admin, make_person, company_with_manager):
        company, manager_account, manager = company_with_manager
        person = make_person()
        admin.post(f"/persons/{person['id']}/roles", json={"kind": "contact", "organisation_id": company["id"]})
        manager.get(f"/persons/{person['id']}", headers={"X-Request-ID": "audit-trace-1"})
        log = admin.get(f"/persons/{person['id']}/access-log").json()["items"]
        entry = next(e for e in log if e["actor_account_id"] == manager_account["id"])
        assert entry["actor_role"] == "fleet_manager" and entry["what"] == "get_person"
        assert entry["correlation_id"] == "audit-trace-1"

    def test_web_usage_is_recorded_with_browser_and_os(self, stack, admin, make_person, make_user):
        person = make_person()
        account, user = make_user("staff", person_id=person["id"])
        user.get("/persons", headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
                                                    "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"},
                 params={"last_name": "secret-query"})

        def usage():
            with ClusterRpcClient(uri=stack.amqp_uri) as rpc:
                rows = rpc.identity.export_web_usage(person["id"])["web_usage"]
            return [row for row in rows if row["path"] == "/api/v1/persons"]

        row = wait_for(usage, timeout=10)[0]
        assert row["account_id"] == account["id"] and row["ip_address"] == "127.0.0.1"
        assert row["browser"].startswith("Chrome") and row["os"].startswith("Windows")
        assert row["status"] == 200 and "secret-query" not in str(row)
