"""Partner fueling throughput against a bare pika consumer, in one run on the same broker.

1. baseline: N persistent messages consumed (and acked) by a bare pika consumer;
2. service: N valid, matched fuelings ingested by the driver process(es) (validate, store once,
   emit driver.fueling_recorded, ack after commit), with 1 and with 2 driver processes;
3. consent withdrawal -> purge of the stored location pings, latency p50/p99.

BENCH_N (default 20000) messages each; every part on its own vhost of AMQP_URI.
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
from shared.messaging import CONSENT_CHANGED, PARTNER_FUELING_EXCHANGE, PARTNER_FUELING_QUEUE, declare_topology
from shared.migrate import upgrade
from shared.testing import TEST_SECRETS, Vhosts

from services.driver.models import DriverProfile, Fueling, LocationConsent, LocationPing, Vehicle

N = int(os.environ.get("BENCH_N", "20000"))
PERSONS = 50
PARTNER = "benchoil"


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
    channel.basic_qos(prefetch_count=500)
    received = 0
    started = time.perf_counter()

    def on_message(ch, method, properties, body):
        nonlocal received
        json.loads(body)
        ch.basic_ack(method.delivery_tag)
        received += 1
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


def service_rate(vhosts, processes, log) -> float:
    vhost = vhosts.create("secto-bench")
    uri = vhosts.uri(vhost)
    try:
        declare_topology(uri)
        url = f"sqlite:///{tempfile.mkdtemp(prefix='secto-bench-')}/driver.db"
        engine = seed(url)
        publish_raw(uri, PARTNER_FUELING_EXCHANGE, f"fueling.{PARTNER}", (fueling_body(i) for i in range(N)))
        wait_depth(uri, PARTNER_FUELING_QUEUE, N)
        with DriverProcesses(uri, url, processes, log):
            while queue_depth(uri, PARTNER_FUELING_QUEUE)[1] == 0:
                time.sleep(0.01)
            started = time.perf_counter()
            deadline = time.time() + 300
            while stored_fuelings(engine) < N:
                if time.time() > deadline:
                    raise TimeoutError("service did not ingest every fueling within 300 s")
                time.sleep(0.02)
            elapsed = time.perf_counter() - started
        engine.dispose()
        return N / elapsed
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
        print(f"  bare pika consumer (baseline): {base:8.0f} msg/s")
        for processes in (1, 2):
            rate = service_rate(vhosts, processes, log)
            print(f"  driver service x{processes}:            {rate:8.0f} msg/s  ratio {rate / base:.2f} "
                  f"(target >= 0.5, floor 0.25)", flush=True)
        p50, p99 = purge_latency(vhosts, log)
        print(f"  consent withdrawal -> location purge: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms "
              f"(target p99 <= 1000 ms)")


if __name__ == "__main__":
    main()
