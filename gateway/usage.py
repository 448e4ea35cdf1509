"""Web-service usage data (seed: "verkkopalvelun käyttötiedot"): per request the IP
address, user agent (browser, OS), account, method, path (never the query string or
body), status and time, published as gateway.request_logged for identity to keep 90 days."""
import eventlet
from nameko.amqp.publish import Publisher
from nameko.messaging import encode_to_headers
from nameko.standalone.events import get_event_exchange
from user_agents import parse as parse_user_agent

from shared.db import utcnow
from shared.logging import CORRELATION_ID, get_logger
from shared.messaging import REQUEST_LOGGED

from gateway.clients import client_address

log = get_logger(__name__)


class UsageRecorder:
    def __init__(self, amqp_uri):
        exchange = get_event_exchange("gateway")
        self.exchange = exchange
        self.publisher = Publisher(amqp_uri, declare=[exchange])

    def record(self, request, status, context_data) -> None:
        """Fire and forget: the response does not wait for the broker."""
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
        eventlet.spawn_n(self._publish, entry, context_data.get(CORRELATION_ID))

    def _publish(self, entry, correlation_id):
        try:
            self.publisher.publish(entry, exchange=self.exchange, routing_key=REQUEST_LOGGED,
                                   extra_headers=encode_to_headers({CORRELATION_ID: correlation_id}))
        except Exception as error:  # usage logging must never break a request
            log.warning("usage.publish_failed", error=type(error).__name__)
