"""Consent service through the gateway: consents with proof, the person's own prohibition,
audiences that honour consents, events and attendance, and the consent broadcast reaching
the driver service (location purged on withdrawal)."""
import uuid

from shared.waiting import wait_for

PING = {"lat": 60.17, "lon": 24.94, "at": "2026-11-24T10:00:00+00:00"}


def audience(admin, channel):
    response = admin.get("/marketing/audience", params={"channel": channel, "limit": 200})
    assert response.status_code == 200, response.text
    ids, cursor = [], None
    while True:
        ids += [item["person_id"] for item in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if not cursor:
            return ids
        response = admin.get("/marketing/audience", params={"channel": channel, "limit": 200, "cursor": cursor})


def contact_of(admin, person_id):
    response = admin.get(f"/marketing/contacts/{person_id}")
    return response.status_code == 200 and response.json()


def test_driver_sets_own_consents_and_withdrawal_purges_location(make_person, make_user):
    person = make_person()
    _, client = make_user("driver", person_id=person["id"])
    granted = client.put("/me/consents/location_tracking", json={"status": "granted", "source": "app",
                                                                 "channel": "mobile", "text_version": "2026-1"})
    assert granted.status_code == 200, granted.text
    assert (granted.json()["status"], granted.json()["by_person"]) == ("granted", True)
    mine = client.get("/me/consents").json()
    assert [(c["purpose"], c["status"]) for c in mine["consents"]] == [("location_tracking", "granted")]
    assert mine["history"][0]["text_version"] == "2026-1" and mine["history"][0]["actor_role"] == "driver"

    bad = client.put("/me/consents/telepathy", json={"status": "granted", "source": "app"})
    assert bad.status_code == 400 and "purpose" in bad.json()["details"]
    bad = client.put("/me/consents/profiling", json={"status": "maybe"})
    assert bad.status_code == 400 and set(bad.json()["details"]) == {"status", "source"}
    assert client.get(f"/consents/{person['id']}").status_code == 404

    if client.get("/me/location").status_code == 404:
        return  # the driver service has no location yet
    wait_for(lambda: client.post("/me/location", json=PING).status_code == 201, timeout=10)
    assert client.get("/me/location").json()["items"]
    withdrawn = client.put("/me/consents/location_tracking", json={"status": "withdrawn", "source": "app"})
    assert withdrawn.status_code == 200, withdrawn.text
    wait_for(lambda: client.get("/me/location").json()["items"] == [], timeout=10)
    assert client.post("/me/location", json=PING).status_code == 409


def test_audience_follows_consents_and_the_persons_own_prohibition(admin, make_person, make_user):
    person = make_person()
    _, client = make_user("driver", person_id=person["id"])
    wait_for(lambda: contact_of(admin, person["id"]), timeout=10)
    assert admin.put(f"/consents/{person['id']}/email_marketing",
                     json={"status": "granted", "source": "event form", "channel": "paper"}).status_code == 200
    assert admin.put(f"/consents/{person['id']}/sms_marketing",
                     json={"status": "granted", "source": "phone call"}).status_code == 200
    assert person["id"] in audience(admin, "email") and person["id"] in audience(admin, "sms")
    assert person["id"] not in audience(admin, "phone")

    assert client.put("/me/consents/sms_marketing", json={"status": "prohibited", "source": "app"}).status_code == 200
    assert person["id"] not in audience(admin, "sms")
    lift = admin.put(f"/consents/{person['id']}/sms_marketing", json={"status": "granted", "source": "staff"})
    assert lift.status_code == 409 and lift.json()["error"] == "prohibition_locked"
    assert person["id"] not in audience(admin, "sms")

    assert client.put("/me/consents/email_marketing", json={"status": "withdrawn", "source": "app"}).status_code == 200
    assert person["id"] not in audience(admin, "email")
    history = admin.get(f"/consents/{person['id']}").json()["history"]
    assert [(r["purpose"], r["status"], r["by_person"]) for r in history] == [
        ("email_marketing", "granted", False), ("sms_marketing", "granted", False),
        ("sms_marketing", "prohibited", True), ("email_marketing", "withdrawn", True)]

    assert client.put("/me/consents/sms_marketing", json={"status": "granted", "source": "app"}).status_code == 200
    assert person["id"] in audience(admin, "sms")


def test_consent_routes_refuse_unknown_persons_and_bad_input(admin):
    unknown = str(uuid.uuid4())
    assert admin.get(f"/consents/{unknown}").status_code == 404
    assert admin.put(f"/consents/{unknown}/profiling", json={"status": "granted", "source": "x"}).status_code == 404
    assert admin.get("/marketing/audience", params={"channel": "pigeon"}).json()["details"].keys() == {"channel"}
    assert admin.get("/marketing/audience").status_code == 400
    assert admin.get("/consents/not-a-uuid").status_code == 404
    assert admin.get(f"/marketing/contacts/{'x' * 80}").status_code == 404
    assert admin.get(f"/marketing/events/{'x' * 80}").status_code == 404
    assert admin.put(f"/consents/{unknown}/profiling", data="status=granted").status_code == 415


def test_profiling_events_and_attendance(admin, make_person):
    person = make_person()
    contact = wait_for(lambda: contact_of(admin, person["id"]), timeout=10)
    assert (contact["email"], contact["phone"]) == (person["email"], person["phone"])
    refused = admin.patch(f"/marketing/contacts/{person['id']}", json={"position": "CFO"})
    assert refused.status_code == 409 and refused.json()["error"] == "profiling_consent_required"
    admin.put(f"/consents/{person['id']}/profiling", json={"status": "granted", "source": "event form"})
    profiled = admin.patch(f"/marketing/contacts/{person['id']}", json={"position": "CFO", "company": "Oy Ab"})
    assert profiled.status_code == 200 and profiled.json()["company"] == "Oy Ab"

    event = admin.post("/marketing/events", json={"name": "Spring launch", "starts_at": "2027-03-01T17:00:00+02:00",
                                                  "place": "Helsinki"})
    assert event.status_code == 201, event.text
    event_id = event.json()["id"]
    assert admin.post("/marketing/events", json={"name": ""}).status_code == 400
    attendee = admin.post(f"/marketing/events/{event_id}/attendees", json={"person_id": person["id"],
                                                                          "status": "attended"})
    assert attendee.status_code == 201, attendee.text
    listed = admin.get(f"/marketing/events/{event_id}/attendees").json()["items"]
    assert [(a["person_id"], a["status"]) for a in listed] == [(person["id"], "attended")]
    assert admin.get(f"/marketing/events/{uuid.uuid4()}/attendees").status_code == 404
    assert admin.get(f"/marketing/events/{event_id}").json()["name"] == "Spring launch"
    assert admin.get("/marketing/events", params={"limit": 1}).json()["items"]
