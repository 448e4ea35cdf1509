"""The API calls the back office screens need (issue 17), through the gateway: search by
`q` with customer-status filters, contacts of an organisation, allowed next statuses,
password reset, erase preview and audit, marketing overview."""
import uuid

import pytest

from shared.waiting import wait_for
from testing.data import contract_body, unique_phone, vehicle_body


def ids(response):
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


@pytest.fixture
def word():
    """A search word no other test's data contains."""
    return f"Zq{uuid.uuid4().hex[:8]}"


class TestSearch:
    def test_persons_by_name_words_email_and_phone(self, admin, make_person, word):
        phone = unique_phone()
        person = make_person(first_name="Maija", last_name=f"Mehiläinen{word}", phone=phone,
                             email=f"{word.lower()}@example.fi")
        other = make_person(first_name="Matti", last_name=f"Mehiläinen{word}")
        assert ids(admin.get("/persons", params={"q": word.lower()})) == {person["id"], other["id"]}
        assert ids(admin.get("/persons", params={"q": f"maija {word}"})) == {person["id"]}
        assert ids(admin.get("/persons", params={"q": f"{word.lower()}@example"})) == {person["id"]}
        national_format = "0" + phone[4:6] + " " + phone[6:]  # +35840xxxxxxx -> 040 xxxxxxx
        assert ids(admin.get("/persons", params={"q": national_format})) == {person["id"]}
        assert ids(admin.get("/persons", params={"q": phone[-7:]})) == {person["id"]}

    def test_like_wildcards_are_plain_text(self, admin, make_person, word):
        make_person(last_name=f"Kivi{word}")
        assert ids(admin.get("/persons", params={"q": f"%{word}"})) == set()
        assert ids(admin.get("/persons", params={"q": "_" * 5})) == set()

    def test_organisations_by_name_or_business_id(self, admin, make_org, word):
        company = make_org(name=f"Kuljetus {word} Oy")
        assert ids(admin.get("/organisations", params={"q": word.upper()})) == {company["id"]}
        assert company["id"] in ids(admin.get("/organisations", params={"q": company["business_id"]}))

    def test_customer_status_filters(self, admin, make_org, make_person, word):
        prospect, customer = make_org(name=f"A {word}"), make_org(name=f"B {word}")
        person = make_person(last_name=f"Asiakas{word}")
        admin.post("/customers", json={"party_type": "organisation", "party_id": prospect["id"],
                                       "customer_type": "corporate"})
        admin.post("/customers", json={"party_type": "organisation", "party_id": customer["id"],
                                       "customer_type": "corporate", "status": "customer"})
        admin.post("/customers", json={"party_type": "person", "party_id": person["id"],
                                       "customer_type": "private", "status": "customer"})
        assert ids(admin.get("/organisations", params={"q": word, "customer_status": "prospect"})) == {prospect["id"]}
        assert ids(admin.get("/organisations", params={"q": word, "customer_status": "customer"})) == {customer["id"]}
        assert ids(admin.get("/persons", params={"q": word, "customer_status": "customer"})) == {person["id"]}
        assert ids(admin.get("/persons", params={"q": word, "customer_status": "prospect"})) == set()
        assert admin.get("/persons", params={"customer_status": "friend"}).status_code == 400

    def test_contacts_of_an_organisation(self, admin, make_org, make_person):
        company, contact, stranger = make_org(), make_person(), make_person()
        admin.post(f"/persons/{contact['id']}/roles", json={"kind": "contact", "organisation_id": company["id"]})
        assert ids(admin.get("/persons", params={"organisation_id": company["id"]})) == {contact["id"]}
        assert stranger["id"] not in ids(admin.get("/persons", params={"organisation_id": company["id"]}))

    def test_fleet_manager_searches_only_its_scope(self, admin, make_org, make_person, make_user, word):
        company, other = make_org(), make_org()
        mine, theirs = make_person(last_name=f"Oma{word}"), make_person(last_name=f"Vieras{word}")
        admin.post(f"/persons/{mine['id']}/roles", json={"kind": "contact", "organisation_id": company["id"]})
        admin.post(f"/persons/{theirs['id']}/roles", json={"kind": "contact", "organisation_id": other["id"]})
        _, manager = make_user("fleet_manager", organisation_id=company["id"])
        assert ids(manager.get("/persons", params={"q": word})) == {mine["id"]}
        assert ids(manager.get("/persons", params={"organisation_id": other["id"]})) == set()
        assert ids(manager.get("/organisations", params={"q": other["business_id"]})) == set()


class TestNextSteps:
    def test_contract_lists_its_allowed_next_statuses(self, admin, make_org):
        company = make_org()
        vehicle = admin.post("/vehicles", json=vehicle_body(company["id"]))
        assert vehicle.status_code == 201, vehicle.text
        contract = admin.post("/contracts", json=contract_body(vehicle.json()["id"], company["id"]))
        assert contract.status_code == 201, contract.text
        contract = contract.json()
        assert contract["next_statuses"] == ["awaiting_delivery", "terminated"]
        for status in ("awaiting_delivery", "active"):
            contract = admin.patch(f"/contracts/{contract['id']}", json={"status": status}).json()
        assert contract["next_statuses"] == ["ended", "terminated"]
        ended = admin.patch(f"/contracts/{contract['id']}", json={"status": "ended"}).json()
        assert ended["next_statuses"] == []
        assert admin.get(f"/contracts/{contract['id']}").json()["next_statuses"] == []

    def test_kyc_case_and_customer_list_their_next_statuses(self, admin, make_org):
        company = make_org()
        case = admin.post("/kyc/cases", json={"customer_id": company["id"]})
        assert case.status_code == 201, case.text
        assert case.json()["next_statuses"] == ["rejected", "verified"]
        rejected = admin.patch(f"/kyc/cases/{case.json()['id']}", json={"status": "rejected"}).json()
        assert rejected["next_statuses"] == []
        customer = admin.post("/customers", json={"party_type": "organisation", "party_id": company["id"],
                                                  "customer_type": "corporate"}).json()
        assert customer["next_statuses"] == ["customer"]


class TestAccounts:
    def test_staff_resets_a_password_old_tokens_stop(self, stack, admin, make_person):
        person = make_person()
        username = f"reset-{uuid.uuid4().hex[:8]}"
        account = admin.post("/users", json={"username": username, "password": "Old-password-123",
                                             "role": "driver", "person_id": person["id"]}).json()
        driver = stack.client().login(username, "Old-password-123")
        assert driver.get("/me/consents").status_code == 200
        too_short = admin.patch(f"/users/{account['id']}", json={"password": "short"})
        assert too_short.status_code == 400 and "password" in too_short.json()["details"]
        same = admin.patch(f"/users/{account['id']}", json={"password": username.upper()})
        assert same.status_code == 400 and "password" in same.json()["details"]
        assert admin.patch(f"/users/{account['id']}", json={"password": "New-password-456"}).status_code == 200
        assert driver.get("/me/consents").status_code == 401
        assert stack.client().login(username, "New-password-456").get("/me/consents").status_code == 200

    def test_fleet_manager_cannot_reset_passwords(self, admin, make_org, make_user):
        company = make_org()
        account, _ = make_user("fleet_manager", organisation_id=company["id"])
        _, manager = make_user("fleet_manager", organisation_id=company["id"])
        response = manager.patch(f"/users/{account['id']}", json={"password": "Another-password-1"})
        assert response.status_code == 400 and "password" in response.json()["details"]


class TestErasePreview:
    def test_preview_reports_like_erasure_and_changes_nothing(self, admin, make_person, make_user):
        person = make_person(city="Oulu")
        account, driver = make_user("driver", person_id=person["id"])
        wait_for(lambda: admin.get(f"/marketing/contacts/{person['id']}").status_code == 200, timeout=10)
        assert driver.put("/me/consents/email_marketing", json={"status": "granted", "source": "app"}
                          ).status_code == 200
        preview = admin.get(f"/persons/{person['id']}/erase-preview")
        assert preview.status_code == 200, preview.text
        services = preview.json()["services"]
        assert set(services) == {"identity", "fleet", "driver", "billing", "kyc", "marketing"}
        assert "national_id" in services["identity"]["anonymised"]
        assert all({"data", "legal_basis", "until"} <= set(kept) for report in services.values()
                   for kept in report["retained"])
        # nothing changed
        assert admin.get(f"/persons/{person['id']}").json()["city"] == "Oulu"
        consents = admin.get(f"/consents/{person['id']}").json()["consents"]
        assert {c["purpose"]: c["status"] for c in consents}["email_marketing"] == "granted"
        assert driver.get("/me/consents").status_code == 200
        erased = admin.post(f"/persons/{person['id']}/erase").json()["services"]
        assert erased["identity"] == services["identity"]
        assert erased["kyc"] == services["kyc"]
        log = admin.get(f"/persons/{person['id']}/access-log", params={"limit": 200}).json()["items"]
        erasures = [entry for entry in log if entry["what"] == "erase_person"]
        assert len(erasures) == 1 and erasures[0]["actor_role"] == "staff" and erasures[0]["actor_account_id"]
        assert account["id"]

    def test_preview_of_unknown_person_is_404_and_staff_only(self, admin, make_person, make_org, make_user):
        assert admin.get(f"/persons/{uuid.uuid4()}/erase-preview").status_code == 404
        company, person = make_org(), make_person()
        admin.post(f"/persons/{person['id']}/roles", json={"kind": "contact", "organisation_id": company["id"]})
        _, manager = make_user("fleet_manager", organisation_id=company["id"])
        assert manager.get(f"/persons/{person['id']}/erase-preview").status_code == 404


class TestMarketingOverview:
    def test_counts_consents_and_audience(self, admin, make_person, make_user):
        before = admin.get("/marketing/overview")
        assert before.status_code == 200, before.text
        person = make_person()
        wait_for(lambda: admin.get(f"/marketing/contacts/{person['id']}").status_code == 200, timeout=10)
        assert admin.put(f"/consents/{person['id']}/email_marketing",
                         json={"status": "granted", "source": "form"}).status_code == 200
        after = admin.get("/marketing/overview").json()
        assert after["consents"]["email_marketing"]["granted"] == before.json()["consents"]["email_marketing"][
            "granted"] + 1
        assert after["audience"]["email"] == before.json()["audience"]["email"] + 1
        assert set(after["audience"]) == {"email", "sms", "phone"}
        _, driver = make_user("driver", person_id=person["id"])
        assert driver.get("/marketing/overview").status_code == 404
