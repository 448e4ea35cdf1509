"""Partner fueling throughput against a bare pika consumer, in one run on the same broker.

1. baseline: N persistent messages consumed by a bare pika consumer acknowledging the way a
   tuned consumer does (prefetch 1000, one multiple-ack per 100 messages);
2. service: N valid, matched fuelings ingested by the driver process(es) (validate, store once,
   emit driver.fueling_recorded, ack after commit), with 1 and with 2 driver processes, timed
   to the last stored row and to the last driver.fueling_recorded event in a queue of its own;
3. consent withdrawal -> purge of the stored location pings, latency p50/p99.

BENCH_N (default 20000) messages each; every part on its own vhost of AMQP_URI. main()
returns the targets missed (ratio >= 0.5 to the baseline, purge p99 <= 1000 ms).
"""
import datetime as dt
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import pika
from nameko.standalone.events import event_dispatcher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from deploy.local.stack import Stack
from shared.db import make_engine
from shared.messaging import (CONSENT_CHANGED, FUELING_RECORDED, PARTNER_FUELING_EXCHANGE, PARTNER_FUELING_QUEUE,
                              declare_topology)
from shared.migrate import upgrade
from testing.broker import Vhosts, declare_event_queue
from testing.stack import TEST_SECRETS

from services.driver.models import DriverProfile, Fueling, LocationConsent, LocationPing, Vehicle

N = int(os.environ.get("BENCH_N", "20000"))
PERSONS = 50
PARTNER = "benchoil"
BASELINE_PREFETCH, BASELINE_ACK_EVERY = 1000, 100
RATIO_TARGET, PURGE_P99_TARGET = 0.5, 1.0
EVENTS_QUEUE = "bench.fueling_recorded"


def fueling_body(index, event_id=None) -> bytes:
    return json.dumps({
        "event_id": event_id or str(uuid.uuid4()), "partner": PARTNER, "phone": f"+35840{1000000 + index % PERSONS}",
        "registration_number": f"BEN-{100 + index % PERSONS}", "product": "Diesel", "company": "BenchOil",
        "municipality": "Espoo", "station": "BenchOil Espoo", "liters": 40.5, "amount_eur": "80.10",
        "fueled_at": "2026-11-24T08:15:00+02:00"}).encode()


def publish_raw(uri, exchange, routing_key, bodies):
    """Fast persistent publishing for setup (one confirm wait at the end via a passive check)."""
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    channel = connection.channel()
    properties = pika.BasicProperties(delivery_mode=2, content_type="application/json")
    for body in bodies:
        channel.basic_publish(exchange, routing_key, body, properties)
    connection.close()


def queue_depth(uri, queue):
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    result = connection.channel().queue_declare(queue, passive=True).method
    connection.close()
    return result.message_count, result.consumer_count


def wait_depth(uri, queue, count, timeout=120):
    deadline = time.time() + timeout
    while queue_depth(uri, queue)[0] < count:
        if time.time() > deadline:
            raise TimeoutError(f"{queue} never reached {count} messages")
        time.sleep(0.2)


def baseline(uri) -> float:
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    channel = connection.channel()
    channel.queue_declare("bench.baseline", durable=True, arguments={"x-queue-type": "quorum"})  # as the pipeline
    connection.close()
    publish_raw(uri, "", "bench.baseline", (fueling_body(i) for i in range(N)))
    wait_depth(uri, "bench.baseline", N)
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=BASELINE_PREFETCH)
    received = 0
    started = time.perf_counter()

    def on_message(ch, method, properties, body):
        nonlocal received
        json.loads(body)
        received += 1
        if received % BASELINE_ACK_EVERY == 0 or received == N:
            ch.basic_ack(method.delivery_tag, multiple=True)
        if received == N:
            ch.stop_consuming()
    channel.basic_consume("bench.baseline", on_message)
    channel.start_consuming()
    elapsed = time.perf_counter() - started
    connection.close()
    return N / elapsed


def seed(url):
    upgrade("driver", url)
    engine = make_engine(url)
    with Session(engine) as session:
        for i in range(PERSONS):
            person_id = str(uuid.uuid4())
            session.add(DriverProfile(person_id=person_id, first_name="Bench", last_name=str(i),
                                      phone=f"+35840{1000000 + i}"))
            session.add(Vehicle(vehicle_id=str(uuid.uuid4()), registration_number=f"BEN-{100 + i}",
                                driver_person_id=person_id, add_on_services=[]))
        session.commit()
    return engine


def stored_fuelings(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Fueling))


class DriverProcesses:
    """Driver service as real `nameko run` processes on one vhost and one database."""

    def __init__(self, uri, database_url, count, log):
        self.stack = Stack({**TEST_SECRETS, "AMQP_URI": uri, "DRIVER_DATABASE_URL": database_url},
                           {"driver": count}, stdout=log)

    def __enter__(self):
        self.stack.start(services=("driver",), gateway=False)
        return self

    def __exit__(self, *exc):
        self.stack.stop()


def wait_until(condition, what, timeout=300) -> float:
    """Polls `condition`; perf_counter() when it first held."""
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise TimeoutError(f"{what} not within {timeout} s")
        time.sleep(0.02)
    return time.perf_counter()


def service_rate(vhosts, processes, log) -> tuple[float, float]:
    """(rate to the last stored row, rate to the last emitted fueling_recorded event)."""
    vhost = vhosts.create("secto-bench")
    uri = vhosts.uri(vhost)
    try:
        declare_topology(uri)
        declare_event_queue(uri, EVENTS_QUEUE, "driver", FUELING_RECORDED)  # counted, never consumed
        url = f"sqlite:///{tempfile.mkdtemp(prefix='secto-bench-')}/driver.db"
        engine = seed(url)
        publish_raw(uri, PARTNER_FUELING_EXCHANGE, f"fueling.{PARTNER}", (fueling_body(i) for i in range(N)))
        wait_depth(uri, PARTNER_FUELING_QUEUE, N)
        with DriverProcesses(uri, url, processes, log):
            while queue_depth(uri, PARTNER_FUELING_QUEUE)[1] == 0:
                time.sleep(0.01)
            started = time.perf_counter()
            stored = wait_until(lambda: stored_fuelings(engine) >= N, "every fueling stored")
            emitted = wait_until(lambda: queue_depth(uri, EVENTS_QUEUE)[0] >= N, "every fueling_recorded emitted")
        engine.dispose()
        return N / (stored - started), N / (emitted - started)
    finally:
        vhosts.delete(vhost)


def purge_latency(vhosts, log, samples=100):
    vhost = vhosts.create("secto-bench")
    uri = vhosts.uri(vhost)
    try:
        declare_topology(uri)
        url = f"sqlite:///{tempfile.mkdtemp(prefix='secto-bench-')}/driver.db"
        engine = seed(url)
        now = dt.datetime.now(dt.timezone.utc)
        persons = [str(uuid.uuid4()) for _ in range(samples)]
        with Session(engine) as session:
            for person_id in persons:
                session.add(LocationConsent(person_id=person_id, status="granted", at=now - dt.timedelta(hours=1)))
                session.add_all(LocationPing(person_id=person_id, lat=60.1, lon=24.9, at=now) for _ in range(10))
            session.commit()
        dispatch = event_dispatcher(uri=uri)
        latencies = []
        with DriverProcesses(uri, url, 1, log):
            while queue_depth(uri, "evt-marketing-consent_changed--driver.on_consent_changed")[1] == 0:
                time.sleep(0.05)
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
        engine.dispose()
        latencies.sort()
        return statistics.median(latencies), latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    finally:
        vhosts.delete(vhost)


def main():
    vhosts = Vhosts()
    log_path = Path(tempfile.mkdtemp(prefix="secto-bench-")) / "driver.log"
    with open(log_path, "ab") as log:
        vhost = vhosts.create("secto-bench")
        try:
            base = baseline(vhosts.uri(vhost))
        finally:
            vhosts.delete(vhost)
        print(f"partner fueling, N={N} persistent messages (driver log: {log_path})")
        print(f"  bare pika consumer (baseline, multiple-ack per {BASELINE_ACK_EVERY}): {base:8.0f} msg/s")
        missed = []
        for processes in (1, 2):
            for to, rate in zip(("last stored row", "last fueling_recorded event"),
                                service_rate(vhosts, processes, log)):
                print(f"  driver service x{processes}, to the {to:27} {rate:8.0f} msg/s  ratio {rate / base:.2f} "
                      f"(target >= {RATIO_TARGET})", flush=True)
                if rate / base < RATIO_TARGET:
                    missed.append(f"partner fueling x{processes} to the {to}: ratio {rate / base:.2f}")
        p50, p99 = purge_latency(vhosts, log)
        print(f"  consent withdrawal -> location purge: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms "
              f"(target p99 <= {PURGE_P99_TARGET * 1000:.0f} ms)")
        if p99 > PURGE_P99_TARGET:
            missed.append(f"location purge p99 {p99 * 1000:.0f} ms")
    return missed


if __name__ == "__main__":
    raise SystemExit(1 if main() else 0)
