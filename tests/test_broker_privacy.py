"""What reaches the broker (issue 12 §3): RPC requests and replies are transient, so the
broker never writes them to disk; events are persistent and no event payload schema has a
national id (or a document number)."""
import importlib
import inspect
import json
import time
import uuid

import pytest
from kombu import Connection, Exchange, Queue
from marshmallow import Schema

from shared.config import SERVICES
from shared.messaging import Rpc

from testing.data import unique_national_id

FORBIDDEN = ("national_id", "hetu", "henkilotunnus", "document_number", "password")
SCHEMA_MODULES = ["shared.schemas"] + [f"services.{service}.schemas" for service in SERVICES]


def event_schemas():
    for module_name in SCHEMA_MODULES:
        module = importlib.import_module(module_name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Schema) and name.endswith("Event") and cls.__module__ == module_name:
                yield f"{module_name}.{name}", cls


def test_no_event_payload_schema_carries_a_national_id():
    schemas = dict(event_schemas())
    assert "services.identity.schemas.PersonCreatedEvent" in schemas
    hits = [(name, field_name) for name, cls in schemas.items()
            for field_name, field in cls().fields.items()
            if any(word in f"{field_name} {field.data_key or ''} {field.attribute or ''}".lower()
                   for word in FORBIDDEN)]
    assert hits == []


def test_every_rpc_entrypoint_replies_transient():
    """One RPC consumer per service: a stray nameko.rpc.rpc would also be persistent."""
    from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

    for service in SERVICES:
        module = importlib.import_module(f"services.{service}.service")
        classes = [cls for _, cls in inspect.getmembers(module, inspect.isclass) if getattr(cls, "name", None) == service]
        entrypoints = [entrypoint for cls in classes for _, method in inspect.getmembers(cls, inspect.isfunction)
                       for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ())]
        rpcs = [entrypoint for entrypoint in entrypoints if type(entrypoint).__name__ == "Rpc"]
        assert rpcs and all(type(entrypoint) is Rpc for entrypoint in rpcs), service


@pytest.fixture
def tap(stack):
    """Copies of every RPC request/reply and every identity event of the stack's vhost."""
    name = f"tap-{uuid.uuid4().hex[:8]}"
    with Connection(stack.amqp_uri) as connection:
        channel = connection.channel()
        queues = [Queue(f"{name}-rpc", Exchange("nameko-rpc", type="topic", durable=True), routing_key="#",
                        auto_delete=True, durable=False),
                  Queue(f"{name}-events", Exchange("identity.events", type="topic", durable=True), routing_key="#",
                        auto_delete=True, durable=False)]
        for queue in queues:
            queue(channel).declare()
        yield connection, queues
        for queue in queues:
            queue(channel).delete()


def text(message) -> str:
    return message.body if isinstance(message.body, str) else message.body.decode()


def drain(connection, queue, until, timeout=30):
    messages, deadline = [], time.time() + timeout
    bound = queue(connection.default_channel)
    while time.time() < deadline and not until(messages):
        message = bound.get(no_ack=True)
        if message is None:
            time.sleep(0.2)
            continue
        messages.append(message)
    return messages


def test_rpc_requests_and_replies_are_transient_events_persistent(stack, admin, tap):
    connection, (rpc_queue, event_queue) = tap
    national_id = unique_national_id()
    created = admin.post("/persons", json={"first_name": "Tap", "last_name": "Test", "national_id": national_id})
    assert created.status_code == 201, created.text
    found = admin.post("/persons/search", json={"national_id": national_id})
    assert [item["id"] for item in found.json()["items"]] == [created.json()["id"]]

    rpc_messages = drain(connection, rpc_queue, lambda got: sum(national_id in text(m) for m in got) >= 2)
    carrying = [m for m in rpc_messages if national_id in text(m)]
    assert len(carrying) >= 2, "the create and search requests carry the national id"
    assert {m.properties["delivery_mode"] for m in rpc_messages} == {1}
    replies = [m for m in rpc_messages if "result" in json.loads(text(m))]
    assert replies, "replies go through nameko-rpc too"

    events = drain(connection, event_queue, lambda got: any(created.json()["id"] in text(m) for m in got))
    assert events and {m.properties["delivery_mode"] for m in events} == {2}
    assert not any(national_id in text(m) for m in events)
