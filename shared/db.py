"""SQLAlchemy 2 plumbing: engine per service, one unit of work per nameko worker, UTC
timestamps, and the one keyset pagination helper."""
import base64
import datetime as dt
import json
import os
import uuid
import weakref
from contextlib import contextmanager
from decimal import Decimal

from nameko import config as nameko_config
from nameko.amqp.publish import Publisher
from nameko.extensions import DependencyProvider
from nameko.messaging import encode_to_headers
from nameko.standalone.events import get_event_exchange
from sqlalchemy import DateTime, MetaData, String, create_engine, event, select, text, true, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from shared import config
from shared.clock import utcnow
from shared.errors import ValidationFailed
from shared.scope import STAFF_SCOPE, MissingScope, checked_scope, is_staff, visible

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """Each service declares `class Base(DeclarativeBase): metadata = new_metadata()`."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def new_id() -> str:
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite drops the zone otherwise)."""
    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self):
        return dt.datetime

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use aware UTC")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def IdColumn():  # noqa: N802 - reads like a type in models
    return String(36)


def _private_sqlite_file(url: str) -> None:
    """Create the database file with mode 0600 (SQLite gives its -wal and -shm files the
    same mode); tighten an existing one."""
    path = make_url(url).database
    if not path or path == ":memory:":
        return
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    try:
        os.chmod(path, 0o600)
    except PermissionError:  # not ours: leave it as its owner made it
        pass


def make_engine(url: str):
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


_EVENTS = "secto.events"
_FINISHED = "secto.finished"
_KEPT_ON = "secto.kept_on"


def publish(session: Session, event_type: str, payload: dict) -> None:
    """Collect an event of this unit of work: it is sent on the service's exchange after
    the commit succeeded, and never if the entrypoint fails or the commit does."""
    session.info.setdefault(_EVENTS, []).append((event_type, payload))


def collected_events(session: Session) -> list[tuple[str, dict]]:
    """The (event, payload) pairs this unit of work has collected so far, not yet sent (tests)."""
    return list(session.info.get(_EVENTS, []))


def keep_on(session: Session, *errors: type[Exception]) -> None:
    """The work done so far is committed even when the use case then raises one of `errors`
    (its events are not sent): e.g. a failed login is counted, then refused."""
    session.info[_KEPT_ON] = session.info.get(_KEPT_ON, ()) + errors


class Database(DependencyProvider):
    """One unit of work per entrypoint: injects a Session per worker; when the entrypoint
    returned, commits once and then sends the events the use case collected (`publish`),
    before the entrypoint answers (see shared.messaging.finish_unit_of_work); teardown closes
    the session, rolling back whatever an error left uncommitted. Handlers never commit or
    dispatch."""
    unit_of_work = True

    def __init__(self, service_name: str):
        self.service_name = service_name
        self.sessions = weakref.WeakKeyDictionary()

    def setup(self):
        self.engine = make_engine(config.database_url(self.service_name))
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        # what nameko's EventDispatcher does: the service's events on <service>.events
        exchange = get_event_exchange(self.container.service_name)
        self.publisher = Publisher(nameko_config.get("AMQP_URI", config.amqp_uri()), exchange=exchange,
                                   declare=[exchange], serializer=self.container.serializer)

    def stop(self):
        self.engine.dispose()

    def get_dependency(self, worker_ctx):
        session = self.sessionmaker()
        self.sessions[worker_ctx] = session
        return session

    def finish(self, worker_ctx) -> None:
        """Commit, then send the collected events (once per worker)."""
        session = self.sessions.get(worker_ctx)
        if session is None or session.info.get(_FINISHED):
            return
        session.info[_FINISHED] = True
        session.commit()
        events = session.info.pop(_EVENTS, [])
        for event_type, payload in events:
            self.publisher.publish(payload, routing_key=event_type,
                                   extra_headers=encode_to_headers(worker_ctx.context_data))

    def finish_failed(self, worker_ctx, error) -> None:
        """The entrypoint failed: commit only what the use case kept on this error (keep_on)."""
        session = self.sessions.get(worker_ctx)
        if session is None or session.info.get(_FINISHED) or not isinstance(error, session.info.get(_KEPT_ON, ())):
            return
        session.info[_FINISHED] = True
        session.info.pop(_EVENTS, None)
        session.commit()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        # entrypoints without an answer (timers) finish here; the others already did
        if exc_info is None:
            self.finish(worker_ctx)

    def worker_teardown(self, worker_ctx):
        session = self.sessions.pop(worker_ctx, None)
        if session is not None:
            session.close()


@contextmanager
def dry_run(session: Session):
    """Run a use case and roll all of it back, events included: e.g. the erasure preview
    is the real erasure code's report without its effects."""
    session.commit = session.flush  # for code that still commits by itself
    events = session.info.pop(_EVENTS, [])
    try:
        yield session
    finally:
        del session.commit
        session.rollback()
        session.info[_EVENTS] = events


def savepoint(session: Session):
    """`session.begin_nested()` for a step that may fail on a unique constraint (a race
    with another worker) without undoing the rest of the unit of work. On SQLite the
    driver opens a transaction only before DML, and RELEASE of an outermost SAVEPOINT
    would commit: open the unit of work's transaction first (IMMEDIATE: it writes next)."""
    connection = session.connection()
    if connection.dialect.name == "sqlite" and not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    return session.begin_nested()


def ping(session: Session) -> None:
    session.execute(text("SELECT 1"))


# --- keyset pagination -------------------------------------------------------------

def _encode_cursor(values) -> str:
    raw = json.dumps([_plain(value) for value in values]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _plain(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _decode_cursor(cursor: str, columns):
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(columns):
            raise ValueError
        return [_typed(value, column) for value, column in zip(values, columns)]
    except (ValueError, TypeError, json.JSONDecodeError):
        raise ValidationFailed("Invalid cursor", {"cursor": ["Invalid cursor."]}) from None


def _typed(value, column):
    if value is None:
        return None
    python_type = column.type.python_type
    if python_type is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if python_type is dt.date:
        return dt.date.fromisoformat(value)
    return python_type(value)


def paginate(session: Session, stmt, order_by, limit: int, cursor: str | None):
    """Keyset page of `stmt` ordered by the columns `order_by` (the last one unique,
    e.g. (Model.created_at, Model.id)). Returns (rows, next_cursor)."""
    order_by = tuple(order_by)
    if cursor:
        stmt = stmt.where(tuple_(*order_by) > tuple_(*_decode_cursor(cursor, order_by)))
    rows = session.scalars(stmt.order_by(*order_by).limit(limit + 1)).all()
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, _encode_cursor([getattr(last, column.key) for column in order_by])


# --- the one scope policy (shared.scope); its SQL half -----------------------------

def in_scope(column, scope):
    """SQL condition: `column` (the owning organisation of a row) is in the caller's scope."""
    return true() if is_staff(scope) else column.in_(scope)


def insert_or_update(session: Session, table):
    """The backend's INSERT with `.on_conflict_do_update/_nothing` (PostgreSQL or SQLite)."""
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


def page(items, next_cursor) -> dict:
    """The list shape of SPEC §5."""
    return {"items": items, "next_cursor": next_cursor}


__all__ = ["Database", "publish", "collected_events", "keep_on", "dry_run", "paginate", "in_scope", "visible", "is_staff",
           "checked_scope", "STAFF_SCOPE",
           "MissingScope", "page", "ping", "select", "new_id", "utcnow", "UTCDateTime", "IdColumn", "new_metadata",
           "make_engine"]
