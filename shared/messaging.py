"""The messaging contract of SPEC §4: event names, who consumes what, partner exchange names.

Events are nameko events: `dispatch(EVENT, payload)` on the source service's exchange
`<service>.events`, routing key = event name. Consumers are listed in SUBSCRIPTIONS so
every service can declare all durable handler queues at start: an event published
before its consumer first ran is then queued, not dropped.
"""
from kombu import Connection, Exchange, Queue
from nameko import config as nameko_config
from nameko import rpc as nameko_rpc
from nameko.amqp.publish import Publisher
from nameko.constants import AMQP_SSL_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY, NON_PERSISTENT
from nameko.standalone.events import get_event_exchange

# identity
PERSON_CREATED = "person_created"
PERSON_UPDATED = "person_updated"
PERSON_ERASED = "person_erased"
ORGANISATION_CHANGED = "organisation_changed"
ACCOUNT_CHANGED = "account_changed"
# fleet
VEHICLE_ASSIGNED = "vehicle_assigned"
VEHICLE_CHANGED = "vehicle_changed"
CONTRACT_CHANGED = "contract_changed"
# driver
FUELING_RECORDED = "fueling_recorded"
TRIP_LOGGED = "trip_logged"
# marketing
CONSENT_CHANGED = "consent_changed"
# gateway
REQUEST_LOGGED = "request_logged"

# (source service, event, consuming service, handler method) — one durable queue each,
# shared by every process of the consuming service (SERVICE_POOL: once per service).
SUBSCRIPTIONS = [
    ("identity", PERSON_CREATED, "driver", "on_person_created"),
    ("identity", PERSON_UPDATED, "driver", "on_person_updated"),
    ("identity", PERSON_ERASED, "driver", "on_person_erased"),
    ("fleet", VEHICLE_ASSIGNED, "driver", "on_vehicle_assigned"),
    ("fleet", CONTRACT_CHANGED, "driver", "on_contract_changed"),
    ("marketing", CONSENT_CHANGED, "driver", "on_consent_changed"),
    ("gateway", REQUEST_LOGGED, "identity", "on_request_logged"),
    ("identity", PERSON_CREATED, "marketing", "on_person_created"),
    ("identity", PERSON_UPDATED, "marketing", "on_person_updated"),
    ("identity", PERSON_ERASED, "marketing", "on_person_erased"),
    ("driver", FUELING_RECORDED, "fleet", "on_fueling_recorded"),
    ("driver", TRIP_LOGGED, "fleet", "on_trip_logged"),
    ("identity", PERSON_ERASED, "fleet", "on_person_erased"),
    ("identity", PERSON_ERASED, "billing", "on_person_erased"),
    ("identity", PERSON_ERASED, "kyc", "on_person_erased"),
]

# Partner fueling (SPEC §4)
PARTNER_FUELING_EXCHANGE = "partner.fueling"
PARTNER_FUELING_QUEUE = "driver.partner_fueling"
PARTNER_FUELING_BINDING = "fueling.#"
PARTNER_FUELING_DEAD_QUEUE = "partner.fueling.dead"
REJECT_REASON_HEADER = "x-reject-reason"


def handler_queue_name(source: str, event: str, service: str, method: str) -> str:
    """nameko's name for a SERVICE_POOL handler queue."""
    return f"evt-{source}-{event}--{service}.{method}"


def dead_letter_queue_name(service: str) -> str:
    """Where a service parks event messages its handler failed on."""
    return f"{service}.dead"


def subscription_queues(consumer=None):
    """Every durable handler queue, or only those of one consuming service."""
    for source, event, service, method in SUBSCRIPTIONS:
        if consumer not in (None, service):
            continue
        yield Queue(handler_queue_name(source, event, service, method), exchange=get_event_exchange(source),
                    routing_key=event, durable=True, auto_delete=False)


def partner_exchange() -> Exchange:
    return Exchange(PARTNER_FUELING_EXCHANGE, type="topic", durable=True)


def declare_topology(amqp_uri: str, service: str | None = None) -> None:
    """Declare every event handler queue and the partner exchange/queues (idempotent); with
    `service`, only what that service consumes: a broker user per service may configure its
    own queues only (Kubernetes; everything is then declared once at deploy time)."""
    with Connection(amqp_uri) as connection:
        channel = connection.default_channel
        for queue in subscription_queues(service):
            queue(channel).declare()
        if service not in (None, "driver"):
            return
        partner = partner_exchange()
        partner(channel).declare()
        Queue(PARTNER_FUELING_QUEUE, exchange=partner, routing_key=PARTNER_FUELING_BINDING,
              durable=True)(channel).declare()
        Queue(PARTNER_FUELING_DEAD_QUEUE, durable=True)(channel).declare()


# RPC requests and replies are transient (delivery_mode 1): they are worthless after the
# caller's timeout, and a persistent one would write its arguments (a national id, say) to the
# broker's disk. Events stay persistent and carry no national id (tests/test_event_payloads.py).

class TransientPublisher(Publisher):
    delivery_mode = NON_PERSISTENT


class TransientResponder(nameko_rpc.Responder):
    publisher_cls = TransientPublisher


class TransientRpcConsumer(nameko_rpc.RpcConsumer):
    def handle_result(self, message, result, exc_info):
        responder = TransientResponder(self.amqp_uri, nameko_rpc.get_rpc_exchange(), message,
                                       ssl=nameko_config.get(AMQP_SSL_CONFIG_KEY),
                                       login_method=nameko_config.get(LOGIN_METHOD_CONFIG_KEY))
        result, exc_info = responder.send_response(result, exc_info)
        self.consumer.ack_message(message)
        return result, exc_info


class Rpc(nameko_rpc.Rpc):
    """nameko's RPC entrypoint, replying with transient messages. Every @rpc of a service
    must be this one: they share one consumer of the service's RPC queue."""
    rpc_consumer = TransientRpcConsumer()


rpc = Rpc.decorator


class ReplyListener(nameko_rpc.ReplyListener):
    """nameko checks for replies lost while disconnected each time its reply consumer
    connects, the first time too: an RPC made while the container is still starting (a
    request already reaching the gateway) is then pending before the reply queue exists,
    and the whole container is killed. Only a reconnection can lose replies."""

    def setup(self):
        super().setup()
        self.connected_before = False

    def check_for_lost_replies(self):
        if self.connected_before:
            super().check_for_lost_replies()
        self.connected_before = True


class ClusterRpc(nameko_rpc.ClusterRpc):
    """RPC client sending transient requests."""
    publisher_cls = TransientPublisher
    reply_listener = ReplyListener()


class ServiceRpc(nameko_rpc.ServiceRpc):
    publisher_cls = TransientPublisher
    reply_listener = ReplyListener()
