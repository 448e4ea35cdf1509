"""Fault test of the partner fueling pipeline: confirmed partner events, each matching a
seeded driver and vehicle, while the consuming driver process is killed with SIGKILL once
and the broker is restarted once. Afterwards

- every event_id is stored by the driver service (lost rows);
- every event was announced as driver.fueling_recorded, counted by a durable queue of the
  test's own (lost events), and no event was announced under two fueling ids (doubled);
- fleet's stored fuel totals equal the litres the partner published (doubled or lost
  usage in the reports).

`make test` runs 5 000 events (FAULTS_EVENTS), `make faults` (SECTO_FAULTS=1) 20 000.
Runs on a private broker (its own node, ports and data dir) so restarting it does not
disturb anything else.
"""
import json
import os
import signal
import threading
import time
import uuid
from collections import defaultdict
from decimal import Decimal

import pika
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from deploy.local.stack import SERVICE_CLASSES, Stack
from services.driver.models import DriverProfile, Fueling, Vehicle
from services.driver.partner.publish import Publisher
from services.fleet.models import Fueling as FleetFueling
from shared.db import make_engine
from shared.messaging import FUELING_RECORDED, declare_topology
from shared.migrate import upgrade
from testing.broker import declare_event_queue
from testing.stack import TEST_SECRETS

EVENTS = int(os.environ.get("FAULTS_EVENTS") or (20000 if os.environ.get("SECTO_FAULTS") == "1" else 5000))
DRIVERS = 50
COUNTER_QUEUE = "faults.fueling_recorded.counter"


def phone(index):
    return f"+35840{2000000 + index % DRIVERS}"


def plate(index):
    return f"FLT-{100 + index % DRIVERS}"


def liters(index):
    return 30 + index % 20


def publish_all(uri, partner, event_ids, progress):
    """Publish every event with confirms; reconnect and resend the unconfirmed one on failure."""
    publisher = None
    for index, event_id in enumerate(event_ids):
        body = {"event_id": event_id, "partner": partner, "phone": phone(index),
                "registration_number": plate(index), "product": "Diesel", "company": "Faults",
                "municipality": "Espoo", "station": "Faults Espoo", "liters": liters(index),
                "fueled_at": "2026-11-24T08:15:00+02:00"}
        while True:
            try:
                publisher = publisher or Publisher(uri, partner)
                publisher.publish(body)
                break
            except (pika.exceptions.AMQPError, OSError):
                publisher = None
                progress["retries"] += 1
                time.sleep(0.5)
        progress["published"] = index + 1
    if publisher:
        publisher.close()


def start_publishing(uri, partner, count):
    """publish_all of `count` new events in a thread: (thread, event_ids, progress)."""
    event_ids = [str(uuid.uuid4()) for _ in range(count)]
    progress = {"published": 0, "retries": 0}
    publisher = threading.Thread(target=publish_all, args=(uri, partner, event_ids, progress))
    publisher.start()
    return publisher, event_ids, progress


def stored_counts(engine):
    """(rows, distinct event_ids) of the driver's fuelings table."""
    with Session(engine) as session:
        return session.execute(select(func.count(), func.count(func.distinct(Fueling.event_id)))).one()


def wait_until(condition, timeout, what):
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise TimeoutError(what)
        time.sleep(0.1)


def seed_drivers(engine):
    """A driver and their vehicle for every phone and plate the events carry: every event matches."""
    with Session(engine) as session:
        for index in range(DRIVERS):
            person_id = str(uuid.uuid4())
            session.add(DriverProfile(person_id=person_id, first_name="Faults", last_name=str(index),
                                      phone=phone(index)))
            session.add(Vehicle(vehicle_id=str(uuid.uuid4()), registration_number=plate(index),
                                driver_person_id=person_id, add_on_services=[]))
        session.commit()


def read_counter(uri) -> dict:
    """event_id -> list of the fueling ids it was announced with, one per announcement received."""
    announced = defaultdict(list)
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    channel = connection.channel()
    while True:
        method, _, body = channel.basic_get(COUNTER_QUEUE, auto_ack=True)
        if method is None:
            break
        for fueling in json.loads(body)["fuelings"]:
            announced[fueling["event_id"]].append(fueling["fueling_id"])
    connection.close()
    return announced


def sqlite_engine(tmp_path, service):
    url = f"sqlite:///{tmp_path / (service + '.db')}"
    upgrade(service, url)
    return url, make_engine(url)


def test_no_event_lost_or_doubled_through_a_broker_restart_and_a_kill_9(private_broker, tmp_path):
    declare_topology(private_broker.uri)
    declare_event_queue(private_broker.uri, COUNTER_QUEUE, "driver", FUELING_RECORDED)
    driver_url, driver_db = sqlite_engine(tmp_path, "driver")
    fleet_url, fleet_db = sqlite_engine(tmp_path, "fleet")
    seed_drivers(driver_db)
    log = open(tmp_path / "stack.log", "ab")
    stack = Stack({**TEST_SECRETS, "AMQP_URI": private_broker.uri, "DRIVER_DATABASE_URL": driver_url,
                   "FLEET_DATABASE_URL": fleet_url}, stdout=log)
    stack.start(services=("driver", "fleet"), gateway=False)

    def stored():
        with Session(driver_db) as session:
            return session.scalar(select(func.count()).select_from(Fueling))

    def fleet_stored():
        with Session(fleet_db) as session:
            return session.scalar(select(func.count()).select_from(FleetFueling))

    event_ids = [str(uuid.uuid4()) for _ in range(EVENTS)]
    progress = {"published": 0, "retries": 0}
    publisher = threading.Thread(target=publish_all, args=(private_broker.uri, "faults", event_ids, progress))
    started = time.time()
    published_in = stored_in = float("nan")
    publisher.start()
    try:
        wait_until(lambda: stored() >= EVENTS // 4, 120, "consumer never got going")
        [victim] = [p for p in stack.processes if p.args[-1] == SERVICE_CLASSES["driver"]]
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        stack.processes.remove(victim)
        stack.start_service("driver")
        killed_at = stored()

        wait_until(lambda: progress["published"] >= EVENTS // 2, 120, "publisher stalled")
        private_broker.stop()
        private_broker.start()
        restarted_at = progress["published"]

        publisher.join(300)
        assert not publisher.is_alive(), "publisher did not finish"
        published_in = time.time() - started
        for process in list(stack.processes):  # a process that died with the broker is replaced
            if process.poll() is not None:
                stack.processes.remove(process)
                stack.start_process(process.args[-1])
        try:
            wait_until(lambda: stored() >= EVENTS, 180, "not every event was stored")
            stored_in = time.time() - started
            wait_until(lambda: fleet_stored() >= EVENTS, 180, "not every event reached fleet")
        except TimeoutError:
            pass  # the counts below say what is missing
    finally:
        stack.stop()
        log.close()
    with Session(driver_db) as session:
        rows = set(session.scalars(select(Fueling.event_id)))
        unmatched = session.scalar(select(func.count()).select_from(Fueling).where(Fueling.matched_at.is_(None)))
    with Session(fleet_db) as session:
        fleet_rows, fleet_liters = session.execute(select(func.count(), func.sum(FleetFueling.liters))).one()
    driver_db.dispose(), fleet_db.dispose()
    announced = read_counter(private_broker.uri)
    published_liters = sum(liters(index) for index in range(EVENTS))

    lost_rows = len(set(event_ids) - rows)
    lost_events = len(set(event_ids) - set(announced))
    doubled = sum(1 for fueling_ids in announced.values() if len(set(fueling_ids)) > 1)
    resent = sum(len(fueling_ids) - 1 for fueling_ids in announced.values())
    print(f"\nfaults: {EVENTS} events in {time.time() - started:.1f}s (published {published_in:.1f}s, stored "
          f"{stored_in:.1f}s); SIGKILL of the consumer at {killed_at} stored, "
          f"broker restart at {restarted_at} published ({progress['retries']} publisher retries); "
          f"lost rows {lost_rows}, lost events {lost_events}, doubled events {doubled} "
          f"(same event resent after a crash: {resent}); fleet {fleet_rows} fuelings, "
          f"{fleet_liters} l of {published_liters} l published")
    assert unmatched == 0, "every event matches a seeded driver and vehicle"
    assert (lost_rows, lost_events, doubled) == (0, 0, 0)
    assert (fleet_rows, Decimal(fleet_liters or 0)) == (EVENTS, Decimal(published_liters))
