"""The partner fueling consumer: a batching pika consumer running inside the driver process.

Per batch (up to `batch_size` messages, or whatever arrived within `max_wait` seconds):
validate every message, insert the valid ones in one statement (ON CONFLICT (event_id)
DO NOTHING) and commit; then, in one AMQP transaction on the consuming channel, publish
`driver.fueling_recorded` for every matched fueling of the batch, park the malformed
messages in `partner.fueling.dead` (original body, header x-reject-reason) and ack the
whole batch with one multiple-ack. A crash anywhere before that transaction commits
means redelivery, which the unique event_id makes harmless (at-least-once events,
exactly-once rows). Several driver processes share the queue.
"""
import datetime as dt
import functools
import json
import re
from decimal import Decimal

import eventlet
import pika
from nameko import config as nameko_config
from nameko.extensions import DependencyProvider
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import sessionmaker

from shared import config, validators
from shared.db import Database, make_engine, new_id, utcnow
from shared.errors import ValidationFailed
from shared.logging import get_logger
from shared.messaging import (FUELING_RECORDED, PARTNER_FUELING_DEAD_QUEUE, PARTNER_FUELING_QUEUE,
                              REJECT_REASON_HEADER)
from shared.schemas import load

from services.driver import schemas
from services.driver.handlers import fueling_recorded, resolve
from services.driver.models import Fueling

log = get_logger(__name__)
EVENTS_EXCHANGE = "driver.events"  # nameko's exchange for events of the driver service
EVENT_PROPERTIES = pika.BasicProperties(content_type="application/json", delivery_mode=2)
FUELINGS = Fueling.__table__

__all__ = ["Database", "PartnerFuelingConsumer", "parse_partner_message"]


UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")
MONEY_RE = re.compile(r"^\d{1,10}(\.\d{1,2})?$")
TEXT_LIMITS = {"partner": 50, "product": 100, "company": 100, "municipality": 100, "station": 200}
LITERS_PLACES, MONEY_PLACES, MAX_LITERS = Decimal("0.001"), Decimal("0.01"), Decimal(100000)
PARTNER_SCHEMA = schemas.PartnerFueling()
_phone = functools.lru_cache(maxsize=65536)(validators.phone)
_plate = functools.lru_cache(maxsize=65536)(validators.registration_number)


def fast_parse(data) -> dict | None:
    """The canonical, common form of a partner message, validated without marshmallow
    (which costs ~200 µs a message). Never more lenient than schemas.PartnerFueling:
    anything unusual returns None and goes through the schema, which then decides."""
    try:
        if not UUID_RE.match(data["event_id"]) or not ISO_RE.match(data["fueled_at"]):
            return None
        fueling = {"event_id": data["event_id"]}
        for field, limit in TEXT_LIMITS.items():
            value = data[field]
            if type(value) is not str or not 0 < len(value) <= limit:
                return None
            fueling[field] = value
        phone, plate = data["phone"], data["registration_number"]
        if type(phone) is not str or type(plate) is not str:
            return None
        fueling["phone"], fueling["registration_number"] = _phone(phone), _plate(plate)
        liters = data["liters"]
        if type(liters) not in (int, float):
            return None
        fueling["liters"] = Decimal(str(liters)).quantize(LITERS_PLACES)
        if not (fueling["liters"].is_finite() and 0 < fueling["liters"] <= MAX_LITERS):
            return None
        amount = data.get("amount_eur")
        if amount is not None and (type(amount) is not str or not MONEY_RE.match(amount)):
            return None
        fueling["amount_eur"] = None if amount is None else Decimal(amount).quantize(MONEY_PLACES)
        fueling["fueled_at"] = dt.datetime.fromisoformat(data["fueled_at"].replace("Z", "+00:00"))
        return fueling
    except (TypeError, KeyError, ValueError, ArithmeticError):
        return None


def parse_partner_message(body: bytes, routing_key: str) -> dict:
    """The validated fueling, or ValidationFailed with a reason fit for x-reject-reason.
    The partner named in the body must be the one of the routing key (which the broker's
    topic permissions bind to the partner's own user)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed("invalid_json", {"_body": [f"Not valid JSON: {exc}"[:200]]}) from None
    fueling = fast_parse(data) if type(data) is dict else None
    if fueling is None:
        try:
            fueling = load(PARTNER_SCHEMA, data)
        except ValidationFailed as error:
            raise ValidationFailed("invalid_fields", error.details) from None
    nul = [field for field, value in fueling.items() if isinstance(value, str) and "\x00" in value]
    if nul:
        raise ValidationFailed("invalid_fields", {field: ["NUL characters are not allowed."] for field in nul})
    if routing_key != f"fueling.{fueling['partner']}":
        raise ValidationFailed("partner_mismatch", {"partner": [f"Does not match the routing key {routing_key!r}."]})
    return fueling


def reject_reason(error: ValidationFailed) -> str:
    return f"{error.message}: {json.dumps(error.details, ensure_ascii=False, default=str)}"[:1000]


class PartnerFuelingConsumer(DependencyProvider):
    def __init__(self, batch_size=None, max_wait=0.05):
        self.batch_size = batch_size
        self.max_wait = max_wait
        self.running = False
        self.thread = None

    def setup(self):
        self.batch_size = self.batch_size or int(config.env("DRIVER_PARTNER_BATCH", "500"))
        self.uri = nameko_config.get("AMQP_URI", config.amqp_uri())
        self.engine = make_engine(config.database_url(self.container.service_name))
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self.insert = (postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert)(FUELINGS)

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
            rows.setdefault(data["event_id"], (data, properties, body))
        events = self.store_isolating(rows, dead) if rows else []
        # BlockingChannel.basic_publish flushes the socket once per message; the channel's
        # asynchronous implementation only queues the frames, which basic_ack/tx_commit
        # below then send in one go (same AMQP transaction either way).
        publish = channel._impl.basic_publish
        for event in events:
            publish(EVENTS_EXCHANGE, FUELING_RECORDED, json.dumps(event), EVENT_PROPERTIES)
        for properties, body, reason in dead:
            publish("", PARTNER_FUELING_DEAD_QUEUE, body, pika.BasicProperties(
                content_type=properties.content_type, delivery_mode=2,
                headers={**(properties.headers or {}), REJECT_REASON_HEADER: reason}))
        channel.basic_ack(batch[-1][0].delivery_tag, multiple=True)
        channel.tx_commit()
        if dead:
            log.warning("partner_fueling.dead_lettered", count=len(dead))

    def store_isolating(self, rows, dead) -> list[dict]:
        """Store the batch; if the database refuses it for its content (not for being
        unavailable), store message by message and dead-letter the ones it refuses."""
        try:
            return self.store([data for data, _, _ in rows.values()])
        except (DataError, IntegrityError):
            log.warning("partner_fueling.batch_refused", size=len(rows))
        events = []
        for data, properties, body in rows.values():
            try:
                events += self.store([data])
            except (DataError, IntegrityError) as exc:
                dead.append((properties, body, f"storage_error: {type(exc).__name__}"))
        return events

    def store(self, items) -> list[dict]:
        """Insert the batch (duplicates ignored) and commit; the fueling_recorded payloads of
        the batch's matched fuelings (also those stored by an earlier delivery)."""
        now = utcnow()
        with self.sessionmaker() as session:
            persons, vehicles = resolve(session, [i["phone"] for i in items], [i["registration_number"] for i in items])
            values = []
            for item in items:
                person_id, vehicle_id = persons.get(item["phone"]), vehicles.get(item["registration_number"])
                values.append({**item, "id": new_id(), "received_at": now, "person_id": person_id,
                               "vehicle_id": vehicle_id, "matched_at": now if person_id and vehicle_id else None})
            inserted = set(session.scalars(self.insert.on_conflict_do_nothing(index_elements=["event_id"])
                                           .returning(FUELINGS.c.event_id), values).all())
            session.commit()
            events = [fueling_recorded(v) for v in values if v["event_id"] in inserted and v["matched_at"]]
            redelivered = [v["event_id"] for v in values if v["event_id"] not in inserted]
            if redelivered:
                events += [fueling_recorded(row) for row in session.scalars(select(Fueling).where(
                    Fueling.event_id.in_(redelivered), Fueling.matched_at.is_not(None)))]
            return events
