"""Aware UTC time: every timestamp stored or sent (shared.db re-exports it for models)."""
import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
