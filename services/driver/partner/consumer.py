"""The partner fueling ingest: a batching pika consumer inside the driver process. It bypasses
nameko for speed, and it is the one place where the driver service talks AMQP by hand.

Per batch (up to `batch_size` messages, or whatever arrived within `max_wait` seconds):
validate every message and store the valid ones in one statement (ON CONFLICT (event_id) DO
NOTHING); commit; only then publish one `driver.fueling_recorded` for the batch's matched
fuelings (the payload of the driver's contract, schemas.fueling_recorded_event, on the exchange
nameko's EventDispatcher uses) and park the malformed messages in `partner.fueling.dead`
(original body, header x-reject-reason). The batch is acked (one multiple-ack) once the broker
confirmed each of those publishes and every earlier batch was acked; meanwhile the next batches
are stored (Confirms). A crash anywhere before the ack means redelivery, which the unique
event_id makes harmless: the redelivered fuelings are announced again under their stored
fueling ids (at-least-once events, exactly-once rows). Several driver processes share the queue.
Prefetch is several batches, so the broker keeps delivering while a batch is stored.

Hostile input: whatever exception handling one message raises dead-letters that message,
never the batch; a database that is unavailable is waited for (the batch stays unacked
and is not redelivered meanwhile). What kills the process instead is redelivered: a
message delivered ISOLATE_AFTER times is handled in a batch of its own, and the quorum
queue dead-letters it after x-delivery-limit deliveries (shared.messaging).
"""
import collections
import json
import time

import eventlet
import pika
from nameko import config as nameko_config
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm import sessionmaker

from shared import config
from shared.db import make_engine
from shared.errors import ValidationFailed
from shared.logging import get_logger
from shared.metrics import DEAD_LETTERED, PARTNER_FUELINGS
from shared.messaging import FUELING_RECORDED, PARTNER_FUELING_DEAD_QUEUE, PARTNER_FUELING_QUEUE, REJECT_REASON_HEADER

from services.driver.handlers import fuelings
from services.driver.schemas import PARTNER_MAX_BODY_BYTES, fueling_recorded_event, parse_partner_message, reject_reason

log = get_logger(__name__)
BATCH_SIZE = 1000  # DRIVER_PARTNER_BATCH
PREFETCH_BATCHES = 3
EVENTS_EXCHANGE = get_event_exchange("driver").name  # where nameko's EventDispatcher publishes
EVENT_PROPERTIES = pika.BasicProperties(content_type="application/json", content_encoding="utf-8", delivery_mode=2)
UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError)  # the database, not the message
ISOLATE_AFTER = 3  # deliveries (x-delivery-count of the quorum queue) before a message is handled alone


class PartnerFuelingConsumer(DependencyProvider):
    def __init__(self, batch_size=None, max_wait=0.05):
        self.batch_size = batch_size
        self.max_wait = max_wait
        self.running = False
        self.thread = None

    def setup(self):
        self.batch_size = self.batch_size or int(config.env("DRIVER_PARTNER_BATCH", str(BATCH_SIZE)))
        self.uri = nameko_config.get("AMQP_URI", config.amqp_uri())
        self.engine = make_engine(config.database_url(self.container.service_name))
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", larger_page_cache)
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
            channel.basic_qos(prefetch_count=self.batch_size * PREFETCH_BATCHES)
            confirms = Confirms(channel)
            log.info("partner_fueling.consuming", queue=PARTNER_FUELING_QUEUE, batch=self.batch_size)
            batch = []
            for method, properties, body in channel.consume(PARTNER_FUELING_QUEUE, inactivity_timeout=self.max_wait):
                if not self.running:
                    break
                if method is not None:
                    if deliveries(properties) >= ISOLATE_AFTER:  # perhaps what crashed an earlier batch
                        if batch:
                            self.process(confirms, batch)
                        batch = []
                        self.process(confirms, [(method, properties, body)])
                        continue
                    batch.append((method, properties, body))
                    if len(batch) < self.batch_size:
                        continue
                if batch:
                    self.process(confirms, batch)
                    batch = []
                confirms.ack()
            confirms.settle(connection)
        finally:
            if connection.is_open:
                connection.close()  # anything unacked goes back to the queue

    def process(self, confirms, batch):
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
        matched = self.store_waiting(confirms.channel.connection, rows, dead) if rows else []
        # committed: now the announcement and the dead letters; the ack once they are confirmed
        if matched:
            confirms.publish(EVENTS_EXCHANGE, FUELING_RECORDED, json.dumps(fueling_recorded_event(matched)),
                             EVENT_PROPERTIES)
        for properties, body, reason in dead:
            confirms.publish("", PARTNER_FUELING_DEAD_QUEUE, *dead_letter(properties, body, reason))
        confirms.ack_when_confirmed(batch[-1][0].delivery_tag)
        count_outcomes(len(batch), len(rows), len(matched), len(dead))
        if dead:
            log.warning("partner_fueling.dead_lettered", count=len(dead))

    def store(self, items) -> list:
        with self.sessionmaker() as session:
            return fuelings.store_fuelings(session, items)

    def store_waiting(self, connection, rows, dead) -> list:
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

    def store_isolating(self, rows, dead) -> list:
        """Store the batch; if the database refuses it for its content (not for being
        unavailable), store message by message and dead-letter the ones it refuses."""
        try:
            return self.store([data for data, _, _ in rows.values()])
        except UNAVAILABLE:
            raise
        except Exception as exc:
            log.warning("partner_fueling.batch_refused", size=len(rows), error=type(exc).__name__)
        matched = []
        for data, properties, body in rows.values():
            try:
                matched += self.store([data])
            except UNAVAILABLE:
                raise
            except Exception as exc:
                dead.append((properties, body, f"storage_error: {type(exc).__name__}"))
        return matched


class Confirms:
    """Publisher confirms of the consuming channel, without waiting for each one: a batch is
    acked once the broker confirmed every publish made for it and every earlier batch was acked
    (a multiple-ack acks them all). A publish the broker refuses (nack) restarts the consumer, so
    the unacked batches are delivered again. Publishes and acks go through the channel's
    asynchronous implementation: they are sent, and the confirms read, while the consume loop
    reads the next messages."""

    def __init__(self, channel):
        self.channel = channel
        self.published = 0  # the channel's publish sequence numbers
        self.unconfirmed = set()
        self.refused = False
        self.waiting = collections.deque()  # (publish sequence number, delivery tag), in delivery order
        channel._impl.confirm_delivery(self._on_confirm)

    def publish(self, exchange, routing_key, body, properties):
        self.channel._impl.basic_publish(exchange, routing_key, body, properties)
        self.published += 1
        self.unconfirmed.add(self.published)

    def ack_when_confirmed(self, delivery_tag):
        self.waiting.append((self.published, delivery_tag))
        self.ack()

    def _on_confirm(self, frame):
        method = frame.method
        self.refused |= isinstance(method, pika.spec.Basic.Nack)
        if method.multiple:
            self.unconfirmed = {number for number in self.unconfirmed if number > method.delivery_tag}
        else:
            self.unconfirmed.discard(method.delivery_tag)

    def ack(self):
        if self.refused:
            raise BrokerRefused("the broker refused a publish (nack)")
        confirmed = min(self.unconfirmed, default=self.published + 1) - 1
        delivery_tag = None
        while self.waiting and self.waiting[0][0] <= confirmed:
            delivery_tag = self.waiting.popleft()[1]
        if delivery_tag is not None:
            self.channel._impl.basic_ack(delivery_tag, multiple=True)

    def settle(self, connection, timeout=2.0):
        """On the way out: ack what gets confirmed within `timeout` s (the rest is redelivered)."""
        deadline = time.monotonic() + timeout
        while self.waiting and time.monotonic() < deadline:
            connection.process_data_events(time_limit=0.05)
            self.ack()
        connection.process_data_events(time_limit=0)


class BrokerRefused(Exception):
    pass


def larger_page_cache(dbapi_connection, _record):
    """16 MiB instead of SQLite's 2: the random keys of the fuelings' indexes (id, event_id)
    otherwise miss the cache on most inserts once the table has some 10 000 rows (measured:
    61 -> 41 us of SQLite's CPU per row at 50 000 rows)."""
    dbapi_connection.execute("PRAGMA cache_size=-16384")


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
