"""Prometheus metrics of a process. Services expose them on METRICS_PORT (127.0.0.1, set
per process by deploy/local/stack.py; unset or 0 = not exposed); the gateway serves
`/metrics` on its own HTTP port."""
import os
import time

from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.messaging import Consumer
from prometheus_client import Counter, Histogram, start_http_server

from shared.logging import get_logger

log = get_logger(__name__)

ENTRYPOINT_SECONDS = Histogram("secto_entrypoint_seconds", "Duration of RPC, event and timer entrypoints",
                               ["service", "entrypoint", "outcome"])
MESSAGES_CONSUMED = Counter("secto_messages_consumed_total", "Event and queue messages handled",
                            ["service", "handler", "outcome"])
DEAD_LETTERED = Counter("secto_messages_dead_lettered_total", "Messages parked in a dead-letter queue",
                        ["service", "queue"])
PARTNER_FUELINGS = Counter("secto_partner_fuelings_total", "Partner fueling messages by outcome",
                           ["outcome"])
RETENTION_REMOVED = Counter("secto_retention_removed_total", "Rows deleted or anonymised by the retention schedule",
                            ["service", "category"])
RETENTION_RUNS = Counter("secto_retention_runs_total", "Retention runs by outcome (ran | skipped | failed)",
                         ["service", "outcome"])
HTTP_SECONDS = Histogram("secto_http_request_seconds", "Gateway request duration",
                         ["method", "route", "status"])

_exposed = []


def expose(port: int | None = None) -> int | None:
    """Start the scrape endpoint once per process."""
    port = int(port if port is not None else os.environ.get("METRICS_PORT") or 0)
    if port and not _exposed:
        try:
            start_http_server(port, addr="127.0.0.1")
        except OSError as error:  # no scrape endpoint is no reason to refuse the service's work
            log.error("metrics.unavailable", port=port, error=str(error))
            return None
        _exposed.append(port)
    return port or None


class Metrics(DependencyProvider):
    """Times every entrypoint of the service and counts consumed messages."""

    def __init__(self):
        self.started = {}

    def setup(self):
        expose()

    def worker_setup(self, worker_ctx):
        self.started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        took = time.perf_counter() - self.started.pop(worker_ctx, time.perf_counter())
        outcome = "ok" if exc_info is None else "error"
        service, entrypoint = self.container.service_name, worker_ctx.entrypoint.method_name
        ENTRYPOINT_SECONDS.labels(service, entrypoint, outcome).observe(took)
        if isinstance(worker_ctx.entrypoint, (EventHandler, Consumer)):
            MESSAGES_CONSUMED.labels(service, entrypoint, outcome).inc()

    def worker_teardown(self, worker_ctx):
        self.started.pop(worker_ctx, None)
