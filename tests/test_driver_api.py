"""Driver Assistant through the gateway: profile from identity + fleet events, driving log,
washes, tire storage, location consent. Fleet and marketing events are published on the
stack's vhost the way those services publish them."""
import csv
import io
import json
import uuid

import pika
import pytest
from nameko.standalone.events import event_dispatcher

from shared.messaging import CONSENT_CHANGED, CONTRACT_CHANGED, TRIP_LOGGED, VEHICLE_ASSIGNED
from shared.waiting import wait_for


def random_plate():
    return f"{''.join(chr(65 + (uuid.uuid4().int >> s) % 26) for s in (0, 8, 16))}-{uuid.uuid4().int % 900 + 100}"


@pytest.fixture
def publish(stack):
    dispatch = event_dispatcher(uri=stack.amqp_uri)

    def publish(service, event, payload):
        dispatch(service, event, payload)
    return publish


@pytest.fixture
def make_driver(make_person, make_user, publish):
    """A person with a driver account, a vehicle assigned and a contract; the profile is
    read back once driver has applied the events."""
    def make(add_ons=("celebration_wash",), **person_fields):
        person = make_person(**person_fields)
        _, client = make_user("driver", person_id=person["id"])
        vehicle = {"vehicle_id": str(uuid.uuid4()), "registration_number": random_plate(),
                   "driver_person_id": person["id"], "previous_driver_person_id": None,
                   "user_organisation_id": str(uuid.uuid4()), "make": "Skoda", "model": "Octavia",
                   "power_source": "diesel", "co2_g_per_km": 120, "status": "active"}
        publish("fleet", VEHICLE_ASSIGNED, vehicle)
        publish("fleet", CONTRACT_CHANGED, {
            "contract_id": str(uuid.uuid4()), "vehicle_id": vehicle["vehicle_id"],
            "registration_number": vehicle["registration_number"], "driver_person_id": person["id"],
            "customer_id": vehicle["user_organisation_id"], "status": "active",
            "contract_type": "Open Maintenance Leasing", "starts_on": "2025-01-01", "ends_on": "2027-12-31",
            "length_months": 36, "add_on_services": list(add_ons), "included_km": 90000, "start_km": 10})

        def ready():
            response = client.get("/me")
            return response.status_code == 200 and response.json()["contract_ends_on"] and response.json()
        me = wait_for(ready, timeout=15)
        return person, vehicle, client, me
    return make


@pytest.fixture
def trip_events(stack):
    """driver.trip_logged events published on the stack's vhost from now on."""
    connection = pika.BlockingConnection(pika.URLParameters(stack.amqp_uri))
    channel = connection.channel()
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, "driver.events", TRIP_LOGGED)
    received = []

    def read():
        while (message := channel.basic_get(queue, auto_ack=True))[0] is not None:
            received.append(json.loads(message[2]))
        return received
    yield read
    connection.close()


def trip(**overrides):
    return {"date": "2026-03-02", "odometer_start": 1000, "odometer_end": 1042, "trip_type": "work",
            "start_point": "Helsinki", "end_point": "Espoo", "purpose": "Customer visit", **overrides}


class TestProfile:
    def test_me_combines_identity_and_fleet_data(self, make_driver):
        person, vehicle, _, me = make_driver()
        assert (me["first_name"], me["phone"], me["email"]) == (person["first_name"], person["phone"], person["email"])
        assert me["registration_number"] == vehicle["registration_number"]
        assert (me["contract_starts_on"], me["contract_ends_on"], me["contract_length_months"]) == (
            "2025-01-01", "2027-12-31", 36)
        assert (me["add_on_services"], me["included_km"], me["start_km"]) == (["celebration_wash"], 90000, 10)

    def test_me_is_for_drivers_only(self, admin):
        assert admin.get("/me").status_code == 404

    def test_person_updated_refreshes_the_profile(self, make_driver, publish):
        person, _, client, _ = make_driver()
        publish("identity", "person_updated", {**person, "first_name": "Uusi"})
        wait_for(lambda: client.get("/me").json()["first_name"] == "Uusi", timeout=10)


class TestDrivingLog:
    def test_log_continuity_summary_and_tax_csv(self, make_driver, trip_events):
        person, vehicle, client, _ = make_driver()
        first = client.post("/me/trips", json=trip())
        assert first.status_code == 201, first.text
        assert first.json()["km"] == 42 and first.json()["vehicle_id"] == vehicle["vehicle_id"]
        logged = wait_for(lambda: [e for e in trip_events() if e["trip_id"] == first.json()["id"]], timeout=10)
        assert logged == [{"trip_id": first.json()["id"], "vehicle_id": vehicle["vehicle_id"],
                           "person_id": person["id"], "organisation_id": vehicle["user_organisation_id"],
                           "date": "2026-03-02", "odometer_end": 1042}]
        private = client.post("/me/trips", json=trip(odometer_start=1042, odometer_end=1100, trip_type="private",
                                                     purpose=None))
        assert private.status_code == 201, private.text

        gap = client.post("/me/trips", json=trip(odometer_start=1200, odometer_end=1250))
        assert gap.status_code == 409 and str(gap.json()["details"]["previous_odometer_end"]) == "1100"
        backwards = client.post("/me/trips", json=trip(odometer_start=1050, odometer_end=1250))
        assert backwards.status_code == 409
        explained = client.post("/me/trips", json=trip(odometer_start=1200, odometer_end=1250,
                                                       gap_explanation="Spouse drove, not logged"))
        assert explained.status_code == 201

        listed = client.get("/me/trips", params={"year": 2026}).json()["items"]
        assert [t["km"] for t in listed] == [42, 58, 50]
        summary = client.get("/me/trips/summary", params={"year": 2026}).json()
        assert summary == {"year": 2026, "trips": 3, "work_km": 92, "private_km": 58, "total_km": 150}

        export = client.get("/me/trips/export", params={"year": 2026})
        assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig")), delimiter=";"))
        assert rows[0][:3] == ["Päivämäärä", "Rekisteritunnus", "Kuljettaja"]
        assert rows[1][1] == vehicle["registration_number"] and rows[1][6] == "työajo"
        assert ["Työajo km", "92"] in rows and ["Yksityisajo km", "58"] in rows

    def test_invalid_trips_are_400_with_field_messages(self, make_driver):
        _, _, client, _ = make_driver()
        response = client.post("/me/trips", json=trip(odometer_end=900, purpose="", trip_type="work"))
        assert response.status_code == 400
        assert set(response.json()["details"]) >= {"odometer_end"}
        no_purpose = client.post("/me/trips", json=trip(purpose=None))
        assert no_purpose.status_code == 400 and "purpose" in no_purpose.json()["details"]
        assert client.post("/me/trips", json=trip(trip_type="holiday")).status_code == 400
        assert client.get("/me/trips/summary").status_code == 400
        assert client.get("/me/trips/summary", params={"year": "x"}).status_code == 400

    def test_driver_without_vehicle_cannot_log(self, make_person, make_user):
        person = make_person()
        _, client = make_user("driver", person_id=person["id"])
        wait_for(lambda: client.get("/me").status_code == 200, timeout=10)
        response = client.post("/me/trips", json=trip())
        assert response.status_code == 409 and response.json()["error"] == "no_vehicle_assigned"


class TestWashes:
    def test_booking_needs_the_add_on(self, make_driver):
        _, vehicle, client, me = make_driver()
        booked = client.post("/me/washes", json={"wash_at": "2099-12-01T10:00:00+02:00", "wash": "Premium",
                                                 "place": "Pesula Oy, Vantaa"})
        assert booked.status_code == 201, booked.text
        assert (booked.json()["registration_number"], booked.json()["phone"]) == (
            vehicle["registration_number"], me["phone"])
        assert [w["id"] for w in client.get("/me/washes").json()["items"]] == [booked.json()["id"]]
        past = client.post("/me/washes", json={"wash_at": "2020-01-01T10:00:00+02:00", "wash": "Premium",
                                               "place": "X"})
        assert past.status_code == 400 and "wash_at" in past.json()["details"]

        _, _, other, _ = make_driver(add_ons=("maintenance",))
        refused = other.post("/me/washes", json={"wash_at": "2099-12-01T10:00:00+02:00", "wash": "Basic",
                                                 "place": "X"})
        assert refused.status_code == 409 and refused.json()["error"] == "celebration_wash_not_included"
        assert other.post("/me/washes", json={"wash": "Basic"}).status_code == 400


class TestLocation:
    def consent(self, publish, person_id, status, at):
        publish("marketing", CONSENT_CHANGED, {"person_id": person_id, "purpose": "location_tracking",
                                               "status": status, "at": at, "source": "app"})

    def test_refused_accepted_and_purged_on_withdrawal(self, make_driver, publish):
        person, _, client, _ = make_driver()
        ping = {"lat": 60.17, "lon": 24.94, "at": "2026-11-24T10:00:00+00:00"}
        refused = client.post("/me/location", json=ping)
        assert refused.status_code == 409 and refused.json()["error"] == "location_consent_required"

        self.consent(publish, person["id"], "granted", "2026-11-24T09:00:00+00:00")
        wait_for(lambda: client.post("/me/location", json=ping).status_code == 201, timeout=10)
        assert client.post("/me/location", json={**ping, "lat": 91}).status_code == 400
        assert len(client.get("/me/location").json()["items"]) == 1

        self.consent(publish, person["id"], "withdrawn", "2026-11-24T11:00:00+00:00")
        wait_for(lambda: client.get("/me/location").json()["items"] == [], timeout=10)
        assert client.post("/me/location", json=ping).status_code == 409

    def test_consent_given_and_withdrawn_through_the_marketing_api(self, make_driver):
        _, _, client, _ = make_driver()
        granted = client.put("/me/consents/location_tracking", json={"status": "granted", "source": "app"})
        assert granted.status_code == 200, granted.text
        ping = {"lat": 60.17, "lon": 24.94, "at": "2026-11-24T10:00:00+00:00"}
        wait_for(lambda: client.post("/me/location", json=ping).status_code == 201, timeout=10)
        withdrawn = client.put("/me/consents/location_tracking", json={"status": "withdrawn", "source": "app"})
        assert withdrawn.status_code == 200, withdrawn.text
        wait_for(lambda: client.get("/me/location").json()["items"] == [], timeout=10)
        assert client.post("/me/location", json=ping).status_code == 409
