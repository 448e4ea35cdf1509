"""The partner fueling consumer: a batching pika consumer running inside the driver process.

Per batch (up to `batch_size` messages, or whatever arrived within `max_wait` seconds):
validate every message, insert the valid ones in one statement (ON CONFLICT (event_id)
DO NOTHING) and commit; then, in one AMQP transaction on the consuming channel, publish
`driver.fueling_recorded` for every matched fueling of the batch, park the malformed
messages in `partner.fueling.dead` (original body, header x-reject-reason) and ack the
whole batch with one multiple-ack. A crash anywhere before that transaction commits
means redelivery, which the unique event_id makes harmless (at-least-once events,
exactly-once rows). Several driver processes share the queue.

Hostile input: whatever exception handling one message raises dead-letters that message,
never the batch; a database that is unavailable is waited for (the batch stays unacked
and is not redelivered meanwhile). What kills the process instead is redelivered: a
message delivered ISOLATE_AFTER times is handled in a batch of its own, and the quorum
queue dead-letters it after x-delivery-limit deliveries (shared.messaging).
"""
import json

import eventlet
import pika
from nameko import config as nameko_config
from nameko.extensions import DependencyProvider
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm import sessionmaker

from shared import config
from shared.db import Database, make_engine
from shared.errors import ValidationFailed
from shared.logging import get_logger
from shared.metrics import DEAD_LETTERED, PARTNER_FUELINGS
from shared.messaging import FUELING_RECORDED, PARTNER_FUELING_DEAD_QUEUE, PARTNER_FUELING_QUEUE, REJECT_REASON_HEADER

from services.driver.handlers import fuelings
from services.driver.schemas import PARTNER_MAX_BODY_BYTES, parse_partner_message, reject_reason

log = get_logger(__name__)
EVENTS_EXCHANGE = "driver.events"  # nameko's exchange for events of the driver service
EVENT_PROPERTIES = pika.BasicProperties(content_type="application/json", delivery_mode=2)
UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError)  # the database, not the message
ISOLATE_AFTER = 3  # deliveries (x-delivery-count of the quorum queue) before a message is handled alone

__all__ = ["Database", "PartnerFuelingConsumer"]


class PartnerFuelingConsumer(DependencyProvider):
    def __init__(self, batch_size=None, max_wait=0.05):
        self.batch_size = batch_size
        self.max_wait = max_wait
        self.running = False
        self.thread = None

    def setup(self):
        self.batch_size = self.batch_size or int(config.env("DRIVER_PARTNER_BATCH", "1000"))
        self.uri = nameko_config.get("AMQP_URI", config.amqp_uri())
        self.engine = make_engine(config.database_url(self.container.service_name))
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    def start(self):
        self.running = True
        self.thread = self.container.spawn_managed_thread(self._run, identifier="partner_fueling_consumer")

    def stop(self):
        self.running = False
        if self.thread is not None:
            with eventlet.Timeout(5, False):
                self.thread.wait()
        self.engine.dispose()

    def kill(self):
        self.running = False

    def _run(self):
        backoff = 0.5
        while self.running:
            try:
                self._consume()
                backoff = 0.5
            except Exception as exc:  # broker gone, DB busy...: unacked messages are redelivered
                if not self.running:
                    return
                log.warning("partner_fueling.consumer_restart", error=type(exc).__name__, detail=str(exc)[:200])
                eventlet.sleep(backoff)
                backoff = min(backoff * 2, 5)

    def _consume(self):
        params = pika.URLParameters(self.uri)
        params.heartbeat = 30
        params.blocked_connection_timeout = 30
        connection = pika.BlockingConnection(params)
        try:
            channel = connection.channel()
            channel.exchange_declare(EVENTS_EXCHANGE, exchange_type="topic", durable=True)
            channel.basic_qos(prefetch_count=self.batch_size)
            channel.tx_select()
            log.info("partner_fueling.consuming", queue=PARTNER_FUELING_QUEUE, batch=self.batch_size)
            batch = []
            for method, properties, body in channel.consume(PARTNER_FUELING_QUEUE, inactivity_timeout=self.max_wait):
                if not self.running:
                    break
                if method is not None:
                    if deliveries(properties) >= ISOLATE_AFTER:  # perhaps what crashed an earlier batch
                        if batch:
                            self.process(channel, batch)
                        batch = []
                        self.process(channel, [(method, properties, body)])
                        continue
                    batch.append((method, properties, body))
                    if len(batch) < self.batch_size:
                        continue
                if batch:
                    self.process(channel, batch)
                    batch = []
        finally:
            if connection.is_open:
                connection.close()  # anything unacked goes back to the queue

    def process(self, channel, batch):
        rows, dead = {}, []
        for method, properties, body in batch:
            try:
                data = parse_partner_message(body, method.routing_key)
            except ValidationFailed as error:
                dead.append((properties, body, reject_reason(error)))
                continue
            except Exception as exc:  # e.g. RecursionError, MemoryError: this message's fate only
                dead.append((properties, body, f"unprocessable: {type(exc).__name__}"))
                continue
            rows.setdefault(data["event_id"], (data, properties, body))
        events = self.store_waiting(channel.connection, rows, dead) if rows else []
        # BlockingChannel.basic_publish flushes the socket once per message; the channel's
        # asynchronous implementation only queues the frames, which basic_ack/tx_commit
        # below then send in one go (same AMQP transaction either way).
        publish = channel._impl.basic_publish
        for event in events:
            publish(EVENTS_EXCHANGE, FUELING_RECORDED, json.dumps(event), EVENT_PROPERTIES)
        for properties, body, reason in dead:
            publish("", PARTNER_FUELING_DEAD_QUEUE, *dead_letter(properties, body, reason))
        channel.basic_ack(batch[-1][0].delivery_tag, multiple=True)
        channel.tx_commit()
        count_outcomes(len(batch), len(rows), len(events), len(dead))
        if dead:
            log.warning("partner_fueling.dead_lettered", count=len(dead))

    def store(self, items) -> list[dict]:
        with self.sessionmaker() as session:
            return fuelings.store_fuelings(session, items)

    def store_waiting(self, connection, rows, dead) -> list[dict]:
        """store_isolating, retried while the database is unavailable (and the process is not
        stopping); connection.sleep keeps the broker connection's heartbeats going."""
        backoff = 0.5
        while True:
            try:
                return self.store_isolating(rows, dead)
            except UNAVAILABLE as exc:
                if not self.running:
                    raise
                log.warning("partner_fueling.database_unavailable", error=type(exc).__name__, retry_in=backoff)
                connection.sleep(backoff)
                backoff = min(backoff * 2, 5)

    def store_isolating(self, rows, dead) -> list[dict]:
        """Store the batch; if the database refuses it for its content (not for being
        unavailable), store message by message and dead-letter the ones it refuses."""
        try:
            return self.store([data for data, _, _ in rows.values()])
        except UNAVAILABLE:
            raise
        except Exception as exc:
            log.warning("partner_fueling.batch_refused", size=len(rows), error=type(exc).__name__)
        events = []
        for data, properties, body in rows.values():
            try:
                events += self.store([data])
            except UNAVAILABLE:
                raise
            except Exception as exc:
                dead.append((properties, body, f"storage_error: {type(exc).__name__}"))
        return events


def deliveries(properties) -> int:
    count = (properties.headers or {}).get("x-delivery-count", 0)
    return count if isinstance(count, int) else 0


def dead_letter(properties, body, reason):
    """(body, properties) of a partner message's dead letter: the original body (an oversized
    one cut to the limit, its size in x-original-size) and headers, plus x-reject-reason."""
    headers = {**(properties.headers or {}), REJECT_REASON_HEADER: reason}
    if len(body) > PARTNER_MAX_BODY_BYTES:
        headers["x-original-size"] = len(body)
        body = body[:PARTNER_MAX_BODY_BYTES]
    return body, pika.BasicProperties(content_type=properties.content_type, delivery_mode=2, headers=headers)


def count_outcomes(consumed, stored, matched, dead):
    """Partner messages of a batch: matched (fueling_recorded sent), unmatched (kept until
    the phone or plate is known), duplicates of stored events, dead-lettered."""
    PARTNER_FUELINGS.labels("consumed").inc(consumed)
    PARTNER_FUELINGS.labels("matched").inc(matched)
    PARTNER_FUELINGS.labels("unmatched").inc(max(0, stored - matched))
    PARTNER_FUELINGS.labels("dead_lettered").inc(dead)
    DEAD_LETTERED.labels("driver", PARTNER_FUELING_DEAD_QUEUE).inc(dead)
