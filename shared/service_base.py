"""What every service has: health over RPC, correlation logging, declared topology,
and failed events parked instead of lost."""
import os

from kombu import Queue
from nameko import config as nameko_config
from nameko.amqp.publish import Publisher
from nameko.extensions import DependencyProvider
from nameko.messaging import Consumer

from shared import config
from shared.crypto import FieldCipher
from shared.db import ping, utcnow
from shared.logging import CORRELATION_ID, CorrelationLog, get_logger
from shared.metrics import DEAD_LETTERED, Metrics
from shared.messaging import REJECT_REASON_HEADER, dead_letter_queue_name, declare_topology, rpc

log = get_logger(__name__)


def _amqp_uri():
    return nameko_config.get("AMQP_URI") or config.amqp_uri()


class Topology(DependencyProvider):
    """Declares the durable event queues at container start (see shared.messaging): all of
    them, or with SECTO_TOPOLOGY=own only the service's own (a broker user per service)."""

    def setup(self):
        own = config.env("SECTO_TOPOLOGY", "all") == "own"
        declare_topology(_amqp_uri(), self.container.service_name if own else None)


class ParkFailedMessages(DependencyProvider):
    """nameko acks an event/consume message whose handler raised: the message would be
    gone. Park it instead in the durable queue `<service>.dead`, body intact, with the
    reason in a header, so it can be inspected and replayed."""

    def setup(self):
        self.queue_name = dead_letter_queue_name(self.container.service_name)
        # confirmed, persistent publishes from a connection pool (survives broker restarts)
        self.publisher = Publisher(_amqp_uri(), declare=[Queue(self.queue_name, durable=True)])

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        if exc_info is None or not isinstance(worker_ctx.entrypoint, Consumer):
            return
        error = exc_info[1]
        reason = f"{type(error).__name__}: {getattr(error, 'details', '') or error}"[:1000]
        body = {"entrypoint": worker_ctx.entrypoint.method_name, "args": list(worker_ctx.args),
                "failed_at": utcnow().isoformat()}
        self.publisher.publish(body, routing_key=self.queue_name, exchange="",
                               headers={REJECT_REASON_HEADER: reason,
                                        CORRELATION_ID: worker_ctx.context_data.get(CORRELATION_ID)})
        DEAD_LETTERED.labels(self.container.service_name, self.queue_name).inc()
        log.warning("message.parked", queue=self.queue_name, reason=type(error).__name__)


class Actor(DependencyProvider):
    """Who asked, as the gateway put it into the context data: {account_id, role, correlation_id}."""

    def get_dependency(self, worker_ctx):
        data = worker_ctx.context_data
        return {"account_id": data.get("account_id"), "role": data.get("role"),
                "correlation_id": data.get(CORRELATION_ID)}


class Cipher(DependencyProvider):
    """FieldCipher over SECTO_DATA_KEYS (first key encrypts, all decrypt)."""

    def setup(self):
        self.cipher = FieldCipher.from_env()

    def get_dependency(self, worker_ctx):
        return self.cipher


class ServiceBase:
    """Subclasses set `name` and `db = Database(name)`."""
    name = None
    db = None
    log = CorrelationLog()
    topology = Topology()
    park_failed = ParkFailedMessages()
    metrics = Metrics()

    @rpc
    def health(self):
        try:
            ping(self.db)
            database = "ok"
        except Exception as exc:  # health must answer, whatever the database says
            log.warning("health.db_failed", error=type(exc).__name__)
            database = "unreachable"
        return {"service": self.name, "status": "ok" if database == "ok" else "degraded", "database": database,
                "process": os.getpid()}
