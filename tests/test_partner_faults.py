"""Fault test of the partner fueling pipeline (`make faults`; skipped in `make test`):
20 000 confirmed partner events while the broker is restarted once and the consuming
driver process is killed with SIGKILL once; afterwards every event_id is stored exactly once.

Runs on a private broker (its own node, ports and data dir) so restarting it does not
disturb anything else.
"""
import os
import signal
import threading
import time
import uuid

import pika
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from deploy.local.stack import Stack
from services.driver.models import Fueling
from services.driver.partner.publish import Publisher
from shared.db import make_engine
from shared.messaging import declare_topology
from shared.migrate import upgrade
from shared.testing import TEST_SECRETS

EVENTS = int(os.environ.get("FAULTS_EVENTS", "20000"))

pytestmark = pytest.mark.skipif(os.environ.get("SECTO_FAULTS") != "1", reason="run with `make faults`")


def publish_all(uri, partner, event_ids, progress):
    """Publish every event with confirms; reconnect and resend the unconfirmed one on failure."""
    publisher = None
    for index, event_id in enumerate(event_ids):
        body = {"event_id": event_id, "partner": partner, "phone": f"+35840{2000000 + index % 500}",
                "registration_number": f"FLT-{100 + index % 500}", "product": "Diesel", "company": "Faults",
                "municipality": "Espoo", "station": "Faults Espoo", "liters": 30 + index % 20,
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


def test_every_event_is_stored_exactly_once_through_a_broker_restart_and_a_kill_9(private_broker, tmp_path):
    declare_topology(private_broker.uri)
    database_url = f"sqlite:///{tmp_path / 'driver.db'}"
    upgrade("driver", database_url)
    engine = make_engine(database_url)
    log = open(tmp_path / "driver.log", "ab")
    stack = Stack({**TEST_SECRETS, "AMQP_URI": private_broker.uri, "DRIVER_DATABASE_URL": database_url}, stdout=log)
    stack.start(services=("driver",), gateway=False).supervise()  # restarts a driver that dies

    def counts():
        return stored_counts(engine)

    started = time.time()
    publisher, event_ids, progress = start_publishing(private_broker.uri, "faults", EVENTS)
    try:
        wait_until(lambda: counts()[0] >= EVENTS // 4, 120, "consumer never got going")
        os.kill(stack.pids[0], signal.SIGKILL)
        killed_at = counts()[0]

        wait_until(lambda: progress["published"] >= EVENTS // 2, 120, "publisher stalled")
        private_broker.stop()
        private_broker.start()
        restarted_at = progress["published"]

        publisher.join(300)
        assert not publisher.is_alive(), "publisher did not finish"
        try:
            wait_until(lambda: counts()[1] >= EVENTS, 120, "not every event was stored")
        except TimeoutError:
            pass
    finally:
        stack.stop()
        log.close()
    with Session(engine) as session:
        stored = set(session.scalars(select(Fueling.event_id)))
        rows = session.scalar(select(func.count()).select_from(Fueling))
    engine.dispose()
    lost = len(set(event_ids) - stored)
    doubled = rows - len(stored)
    print(f"\nfaults: {EVENTS} events in {time.time() - started:.1f}s; SIGKILL of the consumer at {killed_at} stored, "
          f"broker restart at {restarted_at} published ({progress['retries']} publisher retries); "
          f"lost {lost}, doubled {doubled}")
    assert (lost, doubled) == (0, 0)
