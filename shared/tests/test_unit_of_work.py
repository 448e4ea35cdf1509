"""Issue 13 §2: one unit of work per entrypoint. The DB provider commits once when the
entrypoint returned and only then sends the events the use case collected; an error in the
use case or in the commit leaves neither rows nor events, and the caller hears of it."""
import json

import pika
import pytest
from nameko import config
from nameko.containers import ServiceContainer
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcClient
from sqlalchemy import String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.db import Database, IdColumn, make_engine, new_metadata, publish
from shared.errors import Conflict
from shared.messaging import rpc
from shared.testing import declare_event_queue


class Base(DeclarativeBase):
    metadata = new_metadata()


class Thing(Base):
    __tablename__ = "things"
    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


class UnitOfWorkService:
    name = "uow_probe"
    db = Database("uow_probe")

    @rpc
    def make(self, thing_id, fail=False):
        self.db.add(Thing(id=thing_id, name="made"))
        publish(self.db, "thing_made", {"id": thing_id})
        if fail:
            raise Conflict("the use case failed after collecting its event")
        return thing_id


@pytest.fixture
def probe(vhost_uri, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'uow.db'}"
    monkeypatch.setenv("UOW_PROBE_DATABASE_URL", url)
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    declare_event_queue(vhost_uri, "uow-probe-events", "uow_probe", "thing_made")
    with config.patch({"AMQP_URI": vhost_uri}):
        container = ServiceContainer(UnitOfWorkService)
        container.start()
        try:
            with ClusterRpcClient() as client:
                yield client.uow_probe, engine, vhost_uri
        finally:
            container.stop()
            engine.dispose()


def _events(uri):
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    channel = connection.channel()
    bodies = []
    while True:
        method, _properties, body = channel.basic_get("uow-probe-events", auto_ack=True)
        if method is None:
            break
        bodies.append(json.loads(body))
    connection.close()
    return bodies


def _rows(engine):
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Thing))


def test_the_entrypoint_commits_once_and_then_sends_its_events(probe):
    service, engine, uri = probe
    assert service.make("a") == "a"
    assert _rows(engine) == 1
    assert _events(uri) == [{"id": "a"}]


def test_a_failed_use_case_leaves_no_row_and_sends_no_event(probe):
    service, engine, uri = probe
    with pytest.raises(Conflict):
        service.make("b", fail=True)
    assert _rows(engine) == 0
    assert _events(uri) == []


def test_a_failed_commit_is_the_callers_error_and_sends_no_event(probe):
    service, engine, uri = probe
    service.make("c")
    _events(uri)
    with pytest.raises(RemoteError, match="IntegrityError"):
        service.make("c")  # the same primary key: the commit fails, after the method returned
    assert _rows(engine) == 1
    assert _events(uri) == []
