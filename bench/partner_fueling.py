"""Partner fueling ingest against a bare pika consumer: alternating rounds, one run, one broker.

Each round publishes BENCH_N (default 20 000) persistent partner messages to `partner.fueling`
on a vhost of the side under test (the same publisher for every side) and times from the first
publish to:

- bare: a bare pika consumer in its own process (prefetch 500, multiple-ack every 100) acked
  the last message of the quorum queue `driver.partner_fueling`;
- driver x1 / x2: the last of the N fuelings was announced in `driver.fueling_recorded` (read
  from a queue of the bench's own), with 1 and with 2 driver processes (deploy.local.stack, as
  `make run SCALE=driver=2`); each stored every fueling once (checked);
- fleet: N fuelings announced at once, as the driver announces them (its payloads, in its
  batches), to fleet's last stored fueling.

Each service runs alone on its vhost and database, as in production, where each has its own
resources. The sides take turns (bare, x1, x2, fleet; BENCH_ROUNDS rounds, default 3), each after
the queues settled; every round is printed, the fastest round of each side counts. Targets:
x1 >= 0.6 and x2 >= 0.9 of the bare consumer, fleet at least as fast as the fastest driver round.
Then consent withdrawal -> location purge latency (p99 <= 1 s). main() returns the targets missed.

    .venv/bin/python -m deploy.local.test --bench partner_fueling     (make bench runs every bench)
"""
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pika
from nameko.standalone.events import event_dispatcher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from deploy.local.stack import Stack
from shared.config import ROOT
from shared.db import make_engine
from shared.messaging import (CONSENT_CHANGED, FUELING_RECORDED, PARTNER_FUELING_EXCHANGE, PARTNER_FUELING_QUEUE,
                              declare_topology, handler_queue_name)
from shared.migrate import upgrade
from testing.broker import Vhosts, declare_event_queue
from testing.stack import TEST_SECRETS

from services.driver.models import DriverProfile, Fueling, LocationConsent, LocationPing, Vehicle
from services.driver.partner.consumer import BATCH_SIZE
from services.driver.schemas import fueling_recorded_event
from services.fleet.models import Fueling as FleetFueling

N = int(os.environ.get("BENCH_N", "20000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PERSONS = 50
PARTNER = "benchoil"
BARE_PREFETCH, BARE_ACK_EVERY = 500, 100
X1_TARGET, X2_TARGET, FLEET_TARGET, PURGE_P99_TARGET = 0.6, 0.9, 1.0, 1.0
EVENTS_QUEUE = "bench.fueling_recorded"
FLEET_QUEUE = handler_queue_name("driver", FUELING_RECORDED, "fleet", "on_fueling_recorded")
TIMEOUT = 300  # s, for anything one round waits for


def fueling_body(index) -> bytes:
    return json.dumps({
        "event_id": str(uuid.uuid4()), "partner": PARTNER, "phone": f"+35840{1000000 + index % PERSONS}",
        "registration_number": f"BEN-{100 + index % PERSONS}", "product": "Diesel", "company": "BenchOil",
        "municipality": "Espoo", "station": "BenchOil Espoo", "liters": 40.5, "amount_eur": "80.10",
        "fueled_at": "2026-11-24T08:15:00+02:00"}).encode()


def publish_partner(uri, count) -> float:
    """`count` new persistent partner messages, unconfirmed (the broker's flow control paces
    the publisher); returns the monotonic time of the first publish."""
    bodies = [fueling_body(i) for i in range(count)]
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    channel = connection.channel()
    properties = pika.BasicProperties(delivery_mode=2, content_type="application/json")
    started = time.monotonic()
    for body in bodies:
        channel.basic_publish(PARTNER_FUELING_EXCHANGE, f"fueling.{PARTNER}", body, properties)
    connection.close()
    return started


def queue_state(uri, queue) -> tuple[int, int]:
    """(ready messages, consumers)."""
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    try:
        result = connection.channel().queue_declare(queue, passive=True).method
        return result.message_count, result.consumer_count
    finally:
        connection.close()


def wait_until(condition, what, interval=0.02) -> float:
    """Polls `condition`; the monotonic time when it first held."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not within {TIMEOUT} s")
        time.sleep(interval)
    return time.monotonic()


def settle(uri, *queues):
    for queue in queues:
        wait_until(lambda: queue_state(uri, queue)[0] == 0, f"{queue} empty", interval=0.1)


def count(engine, model) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


# --- the baseline -------------------------------------------------------------------

def bare_consumer(uri, expected):
    """The baseline, run in a process of its own: consume `expected` messages of the partner
    queue (prefetch 500, multiple-ack every 100, each body parsed), then print the monotonic
    time of the last ack."""
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=BARE_PREFETCH)
    received = 0

    def on_message(ch, method, properties, body):
        nonlocal received
        json.loads(body)
        received += 1
        if received % BARE_ACK_EVERY == 0 or received == expected:
            ch.basic_ack(method.delivery_tag, multiple=True)
        if received == expected:
            ch.stop_consuming()
    channel.basic_consume(PARTNER_FUELING_QUEUE, on_message)
    channel.start_consuming()
    print(time.monotonic(), flush=True)
    connection.close()


class Bare:
    def __init__(self, vhosts):
        self.vhosts, self.vhost = vhosts, vhosts.create("secto-bench")
        self.uri = vhosts.uri(self.vhost)
        declare_topology(self.uri)  # the pipeline's queues, the quorum queue included

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.vhosts.delete(self.vhost)

    def round(self) -> float:
        process = subprocess.Popen([sys.executable, "-m", "bench.partner_fueling", "bare", self.uri, str(N)],
                                   cwd=ROOT, stdout=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: queue_state(self.uri, PARTNER_FUELING_QUEUE)[1] == 1, "bare consumer ready")
            started = publish_partner(self.uri, N)
            finished = float(process.communicate(timeout=TIMEOUT)[0].split()[-1])
        finally:
            if process.poll() is None:
                process.kill()
        settle(self.uri, PARTNER_FUELING_QUEUE)
        return N / (finished - started)


# --- the services -------------------------------------------------------------------

class Announced(threading.Thread):
    """Reads the bench's copy of driver.fueling_recorded; `at` is the monotonic time when
    `expected` distinct fuelings had been announced."""

    def __init__(self, uri, expected):
        super().__init__(daemon=True)
        self.uri, self.expected, self.event_ids, self.at = uri, expected, set(), None
        self.ready = threading.Event()

    def run(self):
        connection = pika.BlockingConnection(pika.URLParameters(self.uri))
        channel = connection.channel()

        def on_message(ch, method, properties, body):
            self.event_ids.update(fueling["event_id"] for fueling in json.loads(body)["fuelings"])
            if self.at is None and len(self.event_ids) >= self.expected:
                self.at = time.monotonic()
        channel.basic_consume(EVENTS_QUEUE, on_message, auto_ack=True)
        self.ready.set()
        deadline = time.monotonic() + TIMEOUT
        while self.at is None and time.monotonic() < deadline:
            connection.process_data_events(time_limit=0.05)
        connection.close()

    def wait(self) -> float:
        self.join()
        if self.at is None:
            raise TimeoutError(f"{len(self.event_ids)} of {self.expected} fuelings announced within {TIMEOUT} s")
        return self.at


def seed_drivers(engine):
    """A driver and a vehicle for every phone and plate of fueling_body: every fueling matches."""
    with Session(engine) as session:
        for i in range(PERSONS):
            person_id = str(uuid.uuid4())
            session.add(DriverProfile(person_id=person_id, first_name="Bench", last_name=str(i),
                                      phone=f"+35840{1000000 + i}"))
            session.add(Vehicle(vehicle_id=str(uuid.uuid4()), registration_number=f"BEN-{100 + i}",
                                driver_person_id=person_id, user_organisation_id=str(uuid.uuid4()),
                                add_on_services=[]))
        session.commit()


class Services:
    """The driver (`drivers` processes) or fleet as real `nameko run` processes on a vhost and an
    SQLite database of their own: each service in its own resources, as in production."""

    def __init__(self, vhosts, log, drivers=0):
        self.vhosts, self.drivers, self.name = vhosts, drivers, "driver" if drivers else "fleet"
        self.vhost = vhosts.create("secto-bench")
        self.uri = vhosts.uri(self.vhost)
        declare_topology(self.uri)
        declare_event_queue(self.uri, EVENTS_QUEUE, "driver", FUELING_RECORDED)
        url = f"sqlite:///{tempfile.mkdtemp(prefix='secto-bench-')}/{self.name}.db"
        upgrade(self.name, url)
        self.db = make_engine(url)
        if drivers:
            seed_drivers(self.db)
        self.stack = Stack({**TEST_SECRETS, "AMQP_URI": self.uri, f"{self.name.upper()}_DATABASE_URL": url},
                           {"driver": drivers}, stdout=log)

    def __enter__(self):
        self.stack.start(services=(self.name,), gateway=False, web=False)
        queue, consumers = (PARTNER_FUELING_QUEUE, self.drivers) if self.drivers else (FLEET_QUEUE, 1)
        wait_until(lambda: queue_state(self.uri, queue)[1] == consumers, f"{self.name} consuming", interval=0.2)
        return self

    def __exit__(self, *exc):
        self.stack.stop()
        self.db.dispose()
        self.vhosts.delete(self.vhost)

    def driver_round(self) -> float:
        """The driver's rate, from the first partner message published to the last fueling announced."""
        stored = count(self.db, Fueling)
        announced = Announced(self.uri, N)
        announced.start()
        announced.ready.wait(TIMEOUT)
        started = publish_partner(self.uri, N)
        emitted = announced.wait()
        settle(self.uri, PARTNER_FUELING_QUEUE)
        purge(self.uri, FLEET_QUEUE)  # no fleet here
        with Session(self.db) as session:
            rows, event_ids = session.execute(select(func.count(), func.count(func.distinct(Fueling.event_id)))).one()
        if (rows, event_ids) != (stored + N, stored + N):
            raise AssertionError(f"driver stored {rows} rows of {event_ids} event ids; expected {stored + N}")
        return N / (emitted - started)

    def fleet_round(self) -> float:
        """Fleet's rate, from N fuelings announced at once (the driver's payloads, in its
        batches) to the last one stored."""
        recorded = count(self.db, FleetFueling)
        vehicles = [(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(PERSONS)]
        fuelings = [announced_fueling(*vehicles[i % PERSONS]) for i in range(N)]
        bodies = [json.dumps(fueling_recorded_event(fuelings[i:i + BATCH_SIZE])) for i in range(0, N, BATCH_SIZE)]
        connection = pika.BlockingConnection(pika.URLParameters(self.uri))
        channel = connection.channel()
        properties = pika.BasicProperties(delivery_mode=2, content_type="application/json")
        started = time.monotonic()
        for body in bodies:
            channel.basic_publish("driver.events", FUELING_RECORDED, body, properties)
        connection.close()
        absorbed = wait_until(lambda: count(self.db, FleetFueling) >= recorded + N, "fleet stored every fueling")
        settle(self.uri, FLEET_QUEUE)
        purge(self.uri, EVENTS_QUEUE)  # the bench's copy of what it published
        if count(self.db, FleetFueling) != recorded + N:
            raise AssertionError(f"fleet stored {count(self.db, FleetFueling) - recorded} of {N} fuelings")
        return N / (absorbed - started)


def announced_fueling(vehicle_id, person_id, organisation_id) -> dict:
    """A stored driver fueling, as fueling_recorded_event reads it."""
    return {"id": str(uuid.uuid4()), "event_id": str(uuid.uuid4()), "vehicle_id": vehicle_id,
            "registration_number": "BEN-001", "person_id": person_id, "organisation_id": organisation_id,
            "product": "Diesel", "company": "BenchOil", "municipality": "Espoo", "station": "BenchOil Espoo",
            "liters": Decimal("40.500"), "amount_eur": Decimal("80.10"),
            "fueled_at": dt.datetime(2026, 11, 24, 6, 15, tzinfo=dt.timezone.utc)}


def purge(uri, queue):
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    connection.channel().queue_purge(queue)
    connection.close()


def ingest(vhosts, log) -> list[str]:
    rounds = []
    with Bare(vhosts) as bare, Services(vhosts, log, drivers=1) as x1, Services(vhosts, log, drivers=2) as x2, \
            Services(vhosts, log) as fleet:
        sides = {"bare": bare.round, "x1": x1.driver_round, "x2": x2.driver_round, "fleet": fleet.fleet_round}
        for number in range(1, ROUNDS + 1):
            print(f"  round {number} (msg/s):", end="", flush=True)
            result = {}
            for side, run in sides.items():
                result[side] = run()
                print(f" {side} {result[side]:.0f}", end=" |" if side != "fleet" else "\n", flush=True)
            rounds.append(result)
    best = {side: max(result[side] for result in rounds) for side in rounds[0]}
    emitted = max(best["x1"], best["x2"])
    print(f"  fastest: bare {best['bare']:.0f}, driver x1 {best['x1']:.0f}, x2 {best['x2']:.0f} msg/s; fleet stored "
          f"the {N} fuelings announced at once in {N / best['fleet']:.1f} s ({best['fleet']:.0f} msg/s)")
    missed = []
    for name, ratio, target in (("driver x1 / bare", best["x1"] / best["bare"], X1_TARGET),
                                ("driver x2 / bare", best["x2"] / best["bare"], X2_TARGET),
                                ("fleet / fastest driver", best["fleet"] / emitted, FLEET_TARGET)):
        print(f"  {name}: ratio {ratio:.2f} (target >= {target})")
        if ratio < target:
            missed.append(f"partner fueling {name}: ratio {ratio:.2f} < {target}")
    return missed


def purge_latency(vhosts, log, samples=100):
    vhost = vhosts.create("secto-bench")
    uri = vhosts.uri(vhost)
    try:
        declare_topology(uri)
        url = f"sqlite:///{tempfile.mkdtemp(prefix='secto-bench-')}/driver.db"
        upgrade("driver", url)
        engine = make_engine(url)
        now = dt.datetime.now(dt.timezone.utc)
        persons = [str(uuid.uuid4()) for _ in range(samples)]
        with Session(engine) as session:
            for person_id in persons:
                session.add(LocationConsent(person_id=person_id, status="granted", at=now - dt.timedelta(hours=1)))
                session.add_all(LocationPing(person_id=person_id, lat=60.1, lon=24.9, at=now) for _ in range(10))
            session.commit()
        dispatch = event_dispatcher(uri=uri)
        latencies = []
        stack = Stack({**TEST_SECRETS, "AMQP_URI": uri, "DRIVER_DATABASE_URL": url}, stdout=log)
        stack.start(services=("driver",), gateway=False, web=False)
        try:
            wait_until(lambda: queue_state(uri, "evt-marketing-consent_changed--driver.on_consent_changed")[1],
                       "driver consuming", interval=0.05)
            for person_id in persons:
                started = time.perf_counter()
                dispatch("marketing", CONSENT_CHANGED, {"person_id": person_id, "purpose": "location_tracking",
                                                        "status": "withdrawn", "source": "bench",
                                                        "at": dt.datetime.now(dt.timezone.utc).isoformat()})
                with Session(engine) as session:
                    while session.scalar(select(func.count()).select_from(LocationPing)
                                         .where(LocationPing.person_id == person_id)):
                        time.sleep(0.002)
                latencies.append(time.perf_counter() - started)
        finally:
            stack.stop()
        engine.dispose()
        latencies.sort()
        return statistics.median(latencies), latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    finally:
        vhosts.delete(vhost)


def main():
    vhosts = Vhosts()
    log_path = Path(tempfile.mkdtemp(prefix="secto-bench-")) / "services.log"
    with open(log_path, "ab") as log:
        print(f"partner fueling, N={N} persistent messages, {ROUNDS} alternating rounds, msg/s from the first "
              f"publish (service log: {log_path})", flush=True)
        missed = ingest(vhosts, log)
        p50, p99 = purge_latency(vhosts, log)
        print(f"  consent withdrawal -> location purge: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms "
              f"(target p99 <= {PURGE_P99_TARGET * 1000:.0f} ms)")
        if p99 > PURGE_P99_TARGET:
            missed.append(f"location purge p99 {p99 * 1000:.0f} ms")
    return missed


if __name__ == "__main__":
    if sys.argv[1:2] == ["bare"]:
        bare_consumer(sys.argv[2], int(sys.argv[3]))
    else:
        raise SystemExit(1 if main() else 0)
