"""Retention mechanics (GDPR art. 5(1)(e)): periods, the per-service lease, the batch runner.

Each service declares its part of the schedule in `services/<name>/retention.py` as a list
of `Rule`s: what data, how long, what starts the period, the legal basis, and two
functions — `expired(session, cutoff, after, limit)` returns the keys (ascending, > after)
of up to `limit` rows whose period has ended; `remove(session, keys, now)` deletes or
anonymises them. The runner applies them in bounded batches, one transaction per batch,
under a lease row in the service's own database so that of several replicas only one works
at a time; every rule is idempotent, so a second run removes nothing.
"""
import datetime as dt
import os
import re
import socket
import uuid
from dataclasses import dataclass
from typing import Callable

from marshmallow import Schema, fields
from sqlalchemy import Date, String, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from shared.messaging import rpc, timer
from shared import config
from shared.db import UTCDateTime, utcnow
from shared.errors import ValidationFailed
from shared.logging import get_logger
from shared.metrics import RETENTION_REMOVED, RETENTION_RUNS

log = get_logger(__name__)

DAY = 24 * 3600
BATCH = 500
RUN_LEASE = dt.timedelta(minutes=10)  # renewed after every batch; a crashed holder's lease lapses
_PERIOD = re.compile(r"^(\d+)([dmy])$")
_UNITS = {"d": "days", "m": "months", "y": "years"}


def interval_seconds() -> float:
    """How often each service's timer applies the schedule (daily; tests shorten it)."""
    return float(config.env("SECTO_RETENTION_INTERVAL", DAY))


def batch_size() -> int:
    return int(config.env("SECTO_RETENTION_BATCH", BATCH))


# --- periods ---------------------------------------------------------------------------

def parse_period(text: str) -> tuple[int, str]:
    match = _PERIOD.match(text.strip().lower())
    if not match:
        raise config.ConfigError(f"retention period {text!r}: use e.g. 30d, 12m or 5y")
    return int(match.group(1)), match.group(2)


def minus(day: dt.date, period: str) -> dt.date:
    """`day` minus the period; 29 February falls back to the 28th."""
    amount, unit = parse_period(period)
    if unit == "d":
        return day - dt.timedelta(days=amount)
    months = day.year * 12 + day.month - 1 - (amount if unit == "m" else 12 * amount)
    year, month = divmod(months, 12)
    return _clamped(year, month + 1, day.day)


def plus(day: dt.date, period: str) -> dt.date:
    amount, unit = parse_period(period)
    if unit == "d":
        return day + dt.timedelta(days=amount)
    months = day.year * 12 + day.month - 1 + (amount if unit == "m" else 12 * amount)
    year, month = divmod(months, 12)
    return _clamped(year, month + 1, day.day)


def _clamped(year, month, day) -> dt.date:
    while True:
        try:
            return dt.date(year, month, day)
        except ValueError:
            day -= 1


def overrides() -> dict:
    """SECTO_RETENTION="kyc.cases=6y,driver.location_pings=14d" -> {("kyc", "cases"): "6y", ...}."""
    result = {}
    for part in filter(None, (config.env("SECTO_RETENTION") or "").replace(" ", "").split(",")):
        key, _, period = part.partition("=")
        service, _, category = key.partition(".")
        parse_period(period)
        result[(service, category)] = period
    return result


# --- rules -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    category: str
    data: str
    period: str            # default; SECTO_RETENTION overrides it
    starts: str            # what starts the period
    legal_basis: str
    action: str            # deleted | anonymised
    expired: Callable | None = None   # None: enforced by an event, not by the timer
    remove: Callable | None = None
    year_end: bool = False  # the period runs from the end of the (financial / tax) year of the start date
    enforced_by: str = "daily timer"

    def period_in(self, service: str) -> str:
        return overrides().get((service, self.category), self.period)

    def cutoff(self, service: str, now: dt.datetime) -> dt.datetime:
        """Data whose period started before this moment has expired: its until-date (the last
        day it is kept, as erasure reports show it) is before today."""
        day = minus(now.date(), self.period_in(service))
        if self.year_end:  # until = 31.12. of the start year + period
            day = dt.date(day.year, 1, 1)
        return dt.datetime.combine(day, dt.time(), dt.timezone.utc)

    def until(self, service: str, started: dt.date | dt.datetime | None) -> str | None:
        """The last day the data is kept, for erasure reports (None while the period has not started)."""
        if started is None:
            return None
        day = started.date() if isinstance(started, dt.datetime) else started
        if self.year_end:
            day = dt.date(day.year, 12, 31)
        return plus(day, self.period_in(service)).isoformat()


def find(rules, category) -> Rule:
    return next(rule for rule in rules if rule.category == category)


class RetentionRule(Schema):
    service = fields.String(required=True)
    category = fields.String(required=True)
    data = fields.String(required=True)
    period = fields.String(required=True, metadata={"description": "e.g. 30d, 12m, 5y (SECTO_RETENTION overrides)"})
    starts = fields.String(required=True, metadata={"description": "what starts the period"})
    from_year_end = fields.Boolean(required=True,
                                   metadata={"description": "the period runs from the end of that year"})
    legal_basis = fields.String(required=True)
    action = fields.String(required=True, metadata={"description": "deleted | anonymised"})
    enforced_by = fields.String(required=True)


class RetentionSchedule(Schema):
    items = fields.List(fields.Nested(RetentionRule), required=True)


def describe(service: str, rules) -> list[dict]:
    return [{"service": service, "category": rule.category, "data": rule.data, "period": rule.period_in(service),
             "starts": rule.starts, "from_year_end": rule.year_end, "legal_basis": rule.legal_basis,
             "action": rule.action, "enforced_by": rule.enforced_by} for rule in rules]


# --- lease -----------------------------------------------------------------------------

class RetentionLeaseMixin:
    """One row per service database: who applies the schedule now, and (for the timer)
    when the next scheduled run is due. Taken by an atomic conditional UPDATE."""
    __tablename__ = "retention_lease"

    name: Mapped[str] = mapped_column(String(30), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(100))
    running_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    next_run_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_run_on: Mapped[dt.date | None] = mapped_column(Date)


LEASE = "retention"


def _acquire(session, lease_model, holder, scheduled) -> bool:
    now = utcnow()  # the lease always runs on the real clock, whatever the rules are told
    if session.get(lease_model, LEASE) is None:
        session.add(lease_model(name=LEASE))
        try:
            session.commit()
        except IntegrityError:  # another replica inserted it first
            session.rollback()
    condition = [lease_model.name == LEASE,
                 or_(lease_model.running_until.is_(None), lease_model.running_until < now)]
    if scheduled:
        condition.append(or_(lease_model.next_run_after.is_(None), lease_model.next_run_after < now))
    taken = session.execute(update(lease_model).where(*condition)
                            .values(holder=holder, running_until=now + RUN_LEASE)).rowcount == 1
    session.commit()
    return taken


def _renew(session, lease_model, holder) -> None:
    session.execute(update(lease_model).where(lease_model.name == LEASE, lease_model.holder == holder)
                    .values(running_until=utcnow() + RUN_LEASE))
    session.commit()


def _release(session, lease_model, holder, scheduled, started, today) -> None:
    values = {"running_until": None}
    if today is not None:
        values["last_run_on"] = today
    if scheduled:  # the other replicas' timers skip until the next day's run is due
        values["next_run_after"] = started + dt.timedelta(seconds=interval_seconds() * 0.9)
    session.execute(update(lease_model).where(lease_model.name == LEASE, lease_model.holder == holder)
                    .values(**values))
    session.commit()


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# --- runner ----------------------------------------------------------------------------

def plan(session, service, rules, now=None) -> dict:
    """What a run would remove now, per category, removing nothing."""
    return _apply(session, service, rules, now or utcnow(), dry_run=True)


def run(session, service, rules, lease_model, now=None, scheduled=False, on_removed=None) -> dict:
    """Apply the schedule under the lease. Returns {"ran": bool, "removed": {category: count}}.
    `now` is for tests and the dry run only; the timer never passes one."""
    holder, started = holder_name(), utcnow()
    if not _acquire(session, lease_model, holder, scheduled):
        RETENTION_RUNS.labels(service, "skipped").inc()
        log.info("retention.skipped", service=service, reason="another replica holds the lease or ran today")
        return {"ran": False, "removed": {}}
    now = now or started
    try:
        removed = _apply(session, service, rules, now, dry_run=False, on_removed=on_removed,
                         after_batch=lambda: _renew(session, lease_model, holder))
    except Exception:
        session.rollback()
        _release(session, lease_model, holder, False, started, None)
        RETENTION_RUNS.labels(service, "failed").inc()
        raise
    _release(session, lease_model, holder, scheduled, started, now.date())
    RETENTION_RUNS.labels(service, "ran").inc()
    log.info("retention.ran", service=service, removed=removed)
    return {"ran": True, "removed": removed}


def _apply(session, service, rules, now, dry_run, on_removed=None, after_batch=None) -> dict:
    limit, removed = batch_size(), {}
    for rule in rules:
        if rule.expired is None:
            continue
        cutoff, after, count = rule.cutoff(service, now), None, 0
        while True:
            keys = rule.expired(session, cutoff, after, limit)
            if not keys:
                break
            if dry_run:
                session.rollback()
            else:
                rule.remove(session, keys, now)
                session.commit()
                RETENTION_REMOVED.labels(service, rule.category).inc(len(keys))
                if on_removed:
                    on_removed(rule.category, keys)
                if after_batch:
                    after_batch()
            count, after = count + len(keys), keys[-1]
            if len(keys) < limit:
                break
        removed[rule.category] = count
    return removed


def parse_now(value) -> dt.datetime | None:
    """The injected clock of run_retention (tests, the dry run): an aware ISO datetime."""
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError
    except (TypeError, ValueError):
        raise ValidationFailed("Invalid clock", {"now": ["An ISO 8601 datetime with a time zone."]}) from None
    return moment.astimezone(dt.timezone.utc)


class RetentionEntrypoints:
    """Mixed into a service that sets `retention_rules` and `retention_lease` (its lease model).
    The timer applies the schedule daily on the real clock; `run_retention` is internal RPC
    (the gateway exposes no way to call it) for tests and operations, where `now` moves the
    rules' clock, never the lease's."""
    retention_rules = ()
    retention_lease = None

    @timer(interval=interval_seconds(), eager=True)
    def apply_retention(self):
        run(self.db, self.name, self.retention_rules, self.retention_lease, scheduled=True,
            on_removed=self.retention_removed)

    @rpc
    def run_retention(self, now=None, dry_run=False):
        moment = parse_now(now)
        if dry_run:
            return {"ran": False, "would_remove": plan(self.db, self.name, self.retention_rules, moment)}
        return run(self.db, self.name, self.retention_rules, self.retention_lease, moment,
                   on_removed=self.retention_removed)

    @rpc
    def retention_schedule(self):
        return describe(self.name, self.retention_rules)

    def retention_removed(self, category, keys):
        """Called after each committed batch (identity tells the other services)."""


def keys_after(stmt, key_column, after, limit):
    """The keyset step every rule's `expired` ends with."""
    if after is not None:
        stmt = stmt.where(key_column > after)
    return stmt.order_by(key_column).limit(limit)


def delete_older(model, column, key=None):
    """(expired, remove) of the common rule: delete the rows whose `column` (a date or a
    datetime) is before the cutoff."""
    key = key if key is not None else model.id
    on_date = column.type.python_type is dt.date

    def expired(session, cutoff, after, limit):
        stmt = select(key).where(column < (cutoff.date() if on_date else cutoff))
        return session.scalars(keys_after(stmt, key, after, limit)).all()

    def remove(session, keys, now):
        session.execute(delete(model).where(key.in_(keys)))
    return expired, remove


__all__ = ["Rule", "RetentionLeaseMixin", "RetentionEntrypoints", "RetentionRule", "RetentionSchedule", "describe",
           "run", "plan", "find", "interval_seconds", "parse_now", "keys_after", "delete_older"]
