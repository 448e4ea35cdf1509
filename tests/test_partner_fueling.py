"""Partner fueling through the real broker: a partner user made with the partner command
publishes with the partner CLI's publisher; results are read back over HTTP."""
import json
import os
import subprocess
import sys
import urllib.parse
import uuid

import pika
import pytest
import requests

from services.driver.partner.broker_user import create_partner_user
from services.driver.partner.publish import Publisher
from services.driver.schemas import PARTNER_MAX_BODY_BYTES
from shared.config import rabbit_api_uri
from shared.messaging import (FUELING_RECORDED, PARTNER_FUELING_DEAD_QUEUE, PARTNER_FUELING_EXCHANGE,
                              REJECT_REASON_HEADER, VEHICLE_ASSIGNED)
from shared.waiting import wait_for
from testing.data import random_plate, unique_phone
from tests.test_driver_api import make_driver, publish  # noqa: F401  (fixtures)


def fueling(**overrides):
    return {"event_id": str(uuid.uuid4()), "partner": "neste", "phone": "+358401234567",
            "registration_number": "ABC-123", "product": "Neste MY Renewable Diesel", "company": "Neste",
            "municipality": "Espoo", "station": "Neste Espoo Keilaniemi", "liters": 41.37,
            "fueled_at": "2026-11-24T08:15:00+02:00", **overrides}


@pytest.fixture(scope="module")
def partner(stack):
    """A partner broker user (publish to partner.fueling with fueling.<name> only) and its publisher."""
    name = f"p{uuid.uuid4().hex[:8]}"
    vhost = urllib.parse.unquote(urllib.parse.urlparse(stack.amqp_uri).path[1:])
    user = create_partner_user(name, vhost=vhost, amqp=stack.amqp_uri)
    publisher = Publisher(user["uri"], name)
    yield name, publisher, user
    publisher.close()
    api = urllib.parse.urlparse(rabbit_api_uri())
    requests.delete(f"{api.scheme}://{api.hostname}:{api.port}/api/users/{user['username']}",
                    auth=(api.username, api.password), timeout=10)


@pytest.fixture(scope="module")
def recorded_events(stack):
    """Every fueling announced in driver.fueling_recorded on the stack's vhost, as it arrives."""
    connection = pika.BlockingConnection(pika.URLParameters(stack.amqp_uri))
    channel = connection.channel()
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, "driver.events", FUELING_RECORDED)
    received = []

    def read():
        while True:
            method, _, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return received
            received.extend(json.loads(body)["fuelings"])
    yield read
    connection.close()


def dead_letters(stack, marker, expected, timeout=15) -> dict:
    """{body: headers} of the messages in partner.fueling.dead that contain `marker`, once
    `expected` of them arrived (others are consumed and dropped)."""
    connection = pika.BlockingConnection(pika.URLParameters(stack.amqp_uri))
    channel = connection.channel()
    found = {}

    def drain():
        while (message := channel.basic_get(PARTNER_FUELING_DEAD_QUEUE, auto_ack=True))[0] is not None:
            if marker.encode() in message[2]:
                found[message[2]] = message[1].headers
        return len(found) >= expected
    try:
        wait_for(drain, timeout=timeout)
    finally:
        connection.close()
    return found


def my_fuelings(client):
    return client.get("/me/fuelings", params={"limit": 200}).json()["items"]


class TestPartnerFueling:
    def test_partner_event_shows_up_for_the_driver_once_and_is_broadcast(self, partner, make_driver,
                                                                         recorded_events):
        name, publisher, _ = partner
        person, vehicle, client, me = make_driver()
        event = fueling(partner=name, phone=me["phone"], registration_number=vehicle["registration_number"],
                        amount_eur="80.15")
        publisher.publish(event)
        publisher.publish(event)  # a partner retry: same event_id
        publisher.publish({**event, "liters": 99})  # same event_id, other content: still the first one counts

        stored = wait_for(lambda: my_fuelings(client), timeout=15)
        assert len(stored) == 1
        assert stored[0]["event_id"] == event["event_id"] and stored[0]["liters"] == "41.370"
        assert stored[0]["amount_eur"] == "80.15" and stored[0]["vehicle_id"] == vehicle["vehicle_id"]
        broadcast = wait_for(lambda: [e for e in recorded_events() if e["event_id"] == event["event_id"]],
                             timeout=10)
        assert broadcast[0]["person_id"] == person["id"] and broadcast[0]["liters"] == "41.370"
        assert broadcast[0]["vehicle_id"] == vehicle["vehicle_id"]

    def test_partner_user_may_only_publish_to_its_own_routing_key(self, partner, stack):
        name, _, user = partner
        for exchange, key in (("", "driver.partner_fueling"), (PARTNER_FUELING_EXCHANGE, "fueling.other"),
                              ("driver.events", FUELING_RECORDED)):
            connection = pika.BlockingConnection(pika.URLParameters(user["uri"]))
            channel = connection.channel()
            channel.confirm_delivery()
            with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
                channel.basic_publish(exchange, key, json.dumps(fueling(partner=name)))
            assert refused.value.reply_code == 403
            connection.close()
        connection = pika.BlockingConnection(pika.URLParameters(user["uri"]))
        with pytest.raises(pika.exceptions.ChannelClosedByBroker):
            connection.channel().basic_get("driver.partner_fueling")
        connection.close()

    def test_unmatched_event_is_matched_when_person_and_vehicle_appear(self, partner, stack, admin, publish,
                                                                      make_person, make_user, recorded_events):
        name, publisher, _ = partner
        phone, plate = unique_phone(), random_plate()
        event = fueling(partner=name, phone=phone, registration_number=plate)
        publisher.publish(event)

        person = make_person(phone=phone)
        _, client = make_user("driver", person_id=person["id"])
        wait_for(lambda: client.get("/me").status_code == 200, timeout=10)
        waiting = wait_for(lambda: my_fuelings(client), timeout=10)
        assert waiting[0]["matched"] is False and waiting[0]["vehicle_id"] is None
        assert not [e for e in recorded_events() if e["event_id"] == event["event_id"]]

        vehicle_id = str(uuid.uuid4())
        publish("fleet", VEHICLE_ASSIGNED, {"vehicle_id": vehicle_id, "registration_number": plate,
                                            "driver_person_id": person["id"], "previous_driver_person_id": None,
                                            "user_organisation_id": str(uuid.uuid4()), "make": "VW",
                                            "model": "ID.4", "power_source": "electric", "co2_g_per_km": 0,
                                            "status": "active"})
        wait_for(lambda: my_fuelings(client)[0]["matched"], timeout=10)
        assert my_fuelings(client)[0]["vehicle_id"] == vehicle_id
        broadcast = wait_for(lambda: [e for e in recorded_events() if e["event_id"] == event["event_id"]],
                             timeout=10)
        assert broadcast[0]["vehicle_id"] == vehicle_id and broadcast[0]["person_id"] == person["id"]

    def test_malformed_messages_are_dead_lettered_with_reasons_and_consuming_goes_on(
            self, partner, stack, make_driver):
        name, publisher, _ = partner
        marker = uuid.uuid4().hex
        good = fueling(partner=name, station=marker)
        malformed = {
            "not_json": b"{not json " + marker.encode(),
            "not_utf8": b"\xff\xfe" + marker.encode(),
            "not_an_object": json.dumps([marker]),
            "missing_event_id": json.dumps({k: v for k, v in good.items() if k != "event_id"}),
            "bad_event_id": json.dumps({**good, "event_id": "not-a-uuid"}),
            "bad_phone": json.dumps({**good, "phone": "12"}),
            "bad_plate": json.dumps({**good, "registration_number": "1234567"}),
            "negative_liters": json.dumps({**good, "liters": -5}),
            "liters_not_a_number": json.dumps({**good, "liters": "lots"}),
            "naive_fueled_at": json.dumps({**good, "fueled_at": "2026-11-24 08:15"}),
            "other_partner_in_body": json.dumps({**good, "partner": "someone-else"}),
        }
        for body in malformed.values():
            publisher.publish(body)
        _, vehicle, client, me = make_driver()
        after = fueling(partner=name, phone=me["phone"], registration_number=vehicle["registration_number"])
        publisher.publish(after)
        wait_for(lambda: my_fuelings(client), timeout=15)  # the consumer kept going

        dead = {body: headers[REJECT_REASON_HEADER] for body, headers in
                dead_letters(stack, marker, len(malformed)).items()}
        assert set(dead) == {body if isinstance(body, bytes) else body.encode() for body in malformed.values()}
        reasons = {kind: dead[body if isinstance(body, bytes) else body.encode()] for kind, body in malformed.items()}
        assert reasons["not_json"].startswith("invalid_json") and reasons["not_utf8"].startswith("invalid_json")
        assert "event_id" in reasons["missing_event_id"] and "phone" in reasons["bad_phone"]
        assert "registration_number" in reasons["bad_plate"] and "liters" in reasons["negative_liters"]
        assert "fueled_at" in reasons["naive_fueled_at"] and reasons["other_partner_in_body"].startswith(
            "partner_mismatch")


def test_partner_commands_end_to_end(stack, make_driver):
    """The operator's command creates the user; the partner's CLI publishes JSON lines with it."""
    name = f"cli{uuid.uuid4().hex[:6]}"
    vhost = urllib.parse.unquote(urllib.parse.urlparse(stack.amqp_uri).path[1:])
    env = {**os.environ, "AMQP_URI": stack.amqp_uri}
    made = subprocess.run([sys.executable, "-m", "services.driver.partner.broker_user", name, "--vhost", vhost],
                          env=env, capture_output=True, text=True, timeout=30)
    assert made.returncode == 0, made.stderr
    uri = made.stdout.strip()
    try:
        _, vehicle, client, me = make_driver()
        lines = [json.dumps(fueling(partner=name, phone=me["phone"], registration_number=vehicle["registration_number"],
                                    liters=12.5)) for _ in range(3)]
        sent = subprocess.run([sys.executable, "-m", "services.driver.partner.publish", "--uri", uri, "--partner", name],
                              input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=30)
        assert sent.returncode == 0 and "3 events published and confirmed" in sent.stderr, sent.stderr
        stored = wait_for(lambda: len(my_fuelings(client)) == 3 and my_fuelings(client), timeout=15)
        assert {f["liters"] for f in stored} == {"12.500"}
        wrong_key = subprocess.run([sys.executable, "-m", "services.driver.partner.publish", "--uri", uri,
                                    "--partner", "someone-else"], input=lines[0] + "\n", capture_output=True,
                                   text=True, timeout=30)
        assert wrong_key.returncode == 1 and "not confirmed" in wrong_key.stderr
    finally:
        api = urllib.parse.urlparse(rabbit_api_uri())
        requests.delete(f"{api.scheme}://{api.hostname}:{api.port}/api/users/partner-{name}",
                        auth=(api.username, api.password), timeout=10)


def queue_messages(stack, queue) -> int | None:
    """Ready + unacknowledged messages of a queue of the stack's vhost (management API)."""
    api = urllib.parse.urlparse(rabbit_api_uri())
    vhost = urllib.parse.urlparse(stack.amqp_uri).path[1:]
    response = requests.get(f"{api.scheme}://{api.hostname}:{api.port}/api/queues/{vhost}/{queue}",
                            auth=(api.username, api.password), timeout=10)
    return response.json().get("messages") if response.status_code == 200 else None


def test_hostile_messages_are_dead_lettered_and_the_pipeline_goes_on(partner, stack, make_driver):
    """Issue 12 §1: bodies too deep, too deep inside an extra field, or too large never stop
    the consumer; the valid fueling published after them is stored within seconds."""
    name, publisher, _ = partner
    marker = uuid.uuid4().hex
    good = fueling(partner=name)
    valid_prefix = json.dumps({"marker": marker, **good})[:-1]
    hostile = {
        "deep_100000": ('{"marker": "%s", "a": ' % marker + "[" * 100_000 + "]" * 100_000 + "}").encode(),
        "deep_20000_under_size_limit": ('{"marker": "%s", "a": ' % marker + "[" * 20_000 + "]" * 20_000
                                        + "}").encode(),
        "extra_field_900_deep": (valid_prefix + ', "extra": ' + "[" * 900 + "]" * 900 + "}").encode(),
        "eight_megabytes": (valid_prefix + ', "padding": "' + "x" * (8 * 1024 * 1024) + '"}').encode(),
    }
    for body in hostile.values():
        publisher.publish(body)
    _, vehicle, client, me = make_driver()
    valid = fueling(partner=name, phone=me["phone"], registration_number=vehicle["registration_number"])
    publisher.publish(valid)

    stored = wait_for(lambda: my_fuelings(client), timeout=20)
    assert [(f["event_id"], f["vehicle_id"]) for f in stored] == [(valid["event_id"], vehicle["vehicle_id"])]
    wait_for(lambda: queue_messages(stack, "driver.partner_fueling") == 0, timeout=30, interval=1)

    dead = {next(kind for kind, sent in hostile.items() if sent[:PARTNER_MAX_BODY_BYTES] == body): headers
            for body, headers in dead_letters(stack, marker, len(hostile)).items()}
    reasons = {kind: headers[REJECT_REASON_HEADER] for kind, headers in dead.items()}
    assert reasons["deep_100000"].startswith("too_large") and reasons["eight_megabytes"].startswith("too_large")
    assert reasons["deep_20000_under_size_limit"].startswith("too_deep")
    assert reasons["extra_field_900_deep"].startswith("too_deep")
    assert dead["eight_megabytes"]["x-original-size"] == len(hostile["eight_megabytes"])
