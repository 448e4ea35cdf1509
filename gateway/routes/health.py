from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.wrappers import Response

from shared.config import SERVICES
from shared.errors import ServiceUnavailable

from gateway.auth import STAFF
from gateway.http import json_response, route

HEALTH_TIMEOUT = 2.0


class HealthRoutes:
    @route("GET", "/health", summary="Status of every service (no auth)", tag="operations", auth=False,
           statuses=(503,))
    def health(self, request):
        pending = {name: getattr(self.rpc, name).health.call_async()
                   for name in SERVICES}
        components = {"gateway": "ok"}
        for name, call in pending.items():
            try:
                components[name] = call.result(HEALTH_TIMEOUT)["status"]
            except ServiceUnavailable:
                components[name] = "unreachable"
        healthy = all(status == "ok" for status in components.values())
        return json_response({"status": "ok" if healthy else "degraded", "components": components},
                             200 if healthy else 503)

    @route("GET", "/metrics", summary="Prometheus metrics of this gateway process (request latency by route "
           "and status; staff only); each service process exposes its own on METRICS_PORT (loopback)",
           tag="operations", roles=STAFF)
    def metrics(self, request, principal):
        return Response(generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})
