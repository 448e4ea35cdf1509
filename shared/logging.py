"""structlog JSON logs with one correlation id per request, carried in nameko context data.

The gateway creates the id (or takes X-Request-ID); nameko copies context data into the
headers of every RPC and event, and `CorrelationLog` binds it for each worker.
"""
import logging
import re
import sys
import time
import urllib.parse

import structlog
from nameko.extensions import DependencyProvider

CORRELATION_ID = "correlation_id"
SECRET_KEYS = {"password", "new_password", "current_password", "token", "access_token",
               "authorization", "national_id", "secret", "document_number"}
NATIONAL_ID_RE = re.compile(r"\b\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]\b", re.IGNORECASE)

_configured = False
_component = None


def _redact_text(text: str) -> str:
    """Also a percent-encoded one (`131052%2B308T`, `%31%33…`): then the decoded text is logged."""
    if "%" in text:
        decoded = urllib.parse.unquote(text)
        if NATIONAL_ID_RE.search(decoded):
            text = decoded
    return NATIONAL_ID_RE.sub("[redacted-national-id]", text)


def _redact(value):
    if isinstance(value, str):
        return _redact_text(value)
    if isinstance(value, dict):
        return {k: ("[redacted]" if str(k).lower() in SECRET_KEYS else _redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact(v) for v in value]
    return value


def redact_secrets(_logger, _method, event_dict):
    """Last line of defence: no password, token or henkilötunnus reaches a log line."""
    return _redact(event_dict)


def add_component(_logger, _method, event_dict):
    event_dict.setdefault("component", _component)
    return event_dict


def configure(component: str, level: str = "INFO") -> None:
    """JSON lines on stdout for structlog and stdlib (nameko, kombu) alike."""
    global _configured, _component
    _component = component
    if _configured:
        return
    _configured = True
    shared_processors = [
        structlog.contextvars.merge_contextvars,
        add_component,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_secrets,
    ]
    structlog.configure(
        processors=shared_processors + [structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors + [structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.JSONRenderer()],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("kombu").setLevel("WARNING")
    logging.getLogger("amqp").setLevel("WARNING")
    logging.getLogger("pika").setLevel("WARNING")  # it narrates every connection step at INFO


def get_logger(name=None):
    return structlog.get_logger(name)


class CorrelationLog(DependencyProvider):
    """Binds correlation id, service and entrypoint for the worker's log lines and
    logs each entrypoint's outcome and duration."""

    def __init__(self):
        self.started = {}

    def worker_setup(self, worker_ctx):
        structlog.contextvars.bind_contextvars(
            correlation_id=worker_ctx.context_data.get(CORRELATION_ID),
            service=self.container.service_name,
            entrypoint=worker_ctx.entrypoint.method_name,
        )
        self.started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        took_ms = round((time.perf_counter() - self.started.pop(worker_ctx, time.perf_counter())) * 1000, 2)
        log = get_logger("secto.worker")
        if exc_info is None:
            log.info("entrypoint.done", took_ms=took_ms)
        else:
            log.info("entrypoint.failed", took_ms=took_ms, error=type(exc_info[1]).__name__)

    def worker_teardown(self, worker_ctx):
        structlog.contextvars.unbind_contextvars(CORRELATION_ID, "entrypoint")
