"""RPC to the services with a bounded wait: a service that does not answer in time is
a 503 naming it, never a hang."""
import eventlet
from nameko.exceptions import UnknownService

from shared import config
from shared.errors import ServiceUnavailable
from shared.messaging import ClusterRpc

from gateway.auth import PRINCIPALS

# identity calls that change who a token stands for (gateway.auth.PrincipalCache): once one
# returns, this process forgets the principals it kept, before the gateway answers
REVOKING_CALLS = {("identity", "update_account"), ("identity", "change_password"), ("identity", "erase_person"),
                  ("identity", "create_organisation"), ("identity", "update_organisation")}


class Rpc(ClusterRpc):
    """`self.rpc.<service>.<method>(...)` waits at most SECTO_RPC_TIMEOUT seconds;
    `.call_async(...)` returns a Pending for parallel fan-out. A request expires in the
    broker after that time too: nobody waits for its answer any more."""

    def __init__(self, **publisher_options):
        super().__init__(expiration=config.rpc_timeout(), **publisher_options)

    def setup(self):
        super().setup()
        # nameko declares the reply queue again before every request (three broker round trips
        # per call: it expires, so kombu never caches the declaration); the reply listener
        # declared it once and keeps consuming from it (declaring it again when it reconnects),
        # so it exists as long as replies can be received at all
        self.publisher.declare = []

    def get_dependency(self, worker_ctx):
        return Services(super().get_dependency(worker_ctx), config.rpc_timeout())


class Services:
    def __init__(self, client, timeout):
        self._client = client
        self._timeout = timeout

    def __getattr__(self, service):
        return _Service(self._client, service, self._timeout)


class _Service:
    def __init__(self, client, service, timeout):
        self._client, self._service, self._timeout = client, service, timeout

    def __getattr__(self, method):
        return _Method(self._client[self._service][method], self._service, self._timeout)


class _Method:
    def __init__(self, call, service, timeout):
        self._call, self._service, self._timeout = call, service, timeout

    def __call__(self, *args, **kwargs):
        try:
            return self.call_async(*args, **kwargs).result()
        finally:
            if (self._service, self._call.method_name) in REVOKING_CALLS:
                PRINCIPALS.forget()

    def call_async(self, *args, **kwargs):
        """The request is sent from a green thread of its own: the caller does not wait for the
        broker to confirm it, so calls made one after another are in flight together."""
        return Pending(eventlet.spawn(self._call.call_async, *args, **kwargs), self._service, self._timeout)


class Pending:
    def __init__(self, sending, service, timeout):
        self._sending, self.service, self._timeout = sending, service, timeout

    def result(self, timeout=None):
        with eventlet.Timeout(timeout or self._timeout, False):
            try:
                rpc_call = self._sending.wait()
            except UnknownService:
                raise unavailable(self.service) from None
            return rpc_call.result()
        self._sending.kill()
        raise unavailable(self.service)


def unavailable(service):
    return ServiceUnavailable(f"The {service} service did not answer", {"service": service})


def gather(pending: dict, essential=(), timeout=None):
    """Results of parallel calls {name: Pending}. A non-essential call that fails with
    ServiceUnavailable is left out and named in the returned `degraded` list."""
    results, degraded = {}, []
    for name, call in pending.items():
        try:
            results[name] = call.result(timeout)
        except ServiceUnavailable:
            if name in essential:
                raise
            degraded.append(call.service)
    return results, sorted(set(degraded))
