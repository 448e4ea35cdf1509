"""Web-service usage data (seed: "verkkopalvelun käyttötiedot"): per request the IP
address, user agent (browser, OS), account, method, path (never the query string or
body), status and time, published as gateway.request_logged for identity to keep 90 days.

A flood costs nothing downstream: requests refused before they reach a service (429, 401
without a valid token) are not recorded, and the others go out in batches, one event per
second at most (or per MAX_BATCH entries)."""
import eventlet
from nameko.amqp.publish import Publisher
from nameko.standalone.events import get_event_exchange
from user_agents import parse as parse_user_agent

from shared.clock import utcnow
from shared.logging import get_logger
from shared.messaging import REQUEST_LOGGED

from gateway.clients import client_address

log = get_logger(__name__)


FLUSH_SECONDS = 1.0
MAX_BATCH = 500


class UsageRecorder:
    def __init__(self, amqp_uri):
        exchange = get_event_exchange("gateway")
        self.exchange = exchange
        self.publisher = Publisher(amqp_uri, declare=[exchange])
        self.pending = []
        self.flush_timer = None

    @staticmethod
    def worth_recording(status, context_data) -> bool:
        return status != 429 and not (status == 401 and not context_data.get("account_id"))

    def record(self, request, status, context_data) -> None:
        """Fire and forget: the response does not wait for the broker."""
        if not self.worth_recording(status, context_data):
            return
        agent = request.headers.get("User-Agent", "")[:500]
        parsed = parse_user_agent(agent)
        entry = {
            "account_id": context_data.get("account_id"),
            "ip_address": client_address(request),
            "user_agent": agent or None,
            "browser": f"{parsed.browser.family} {parsed.browser.version_string}".strip()[:100],
            "os": f"{parsed.os.family} {parsed.os.version_string}".strip()[:100],
            "method": request.method,
            "path": request.path[:500],
            "status": status,
            "at": utcnow().isoformat(),
        }
        self.pending.append(entry)
        if len(self.pending) >= MAX_BATCH:
            eventlet.spawn_n(self.flush)
        elif self.flush_timer is None:
            self.flush_timer = eventlet.spawn_after(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        if self.flush_timer is not None:
            self.flush_timer.cancel()
            self.flush_timer = None
        batch, self.pending = self.pending, []
        if not batch:
            return
        try:
            self.publisher.publish({"entries": batch}, exchange=self.exchange, routing_key=REQUEST_LOGGED)
        except Exception as error:  # usage logging must never break a request
            log.warning("usage.publish_failed", error=type(error).__name__, entries=len(batch))
