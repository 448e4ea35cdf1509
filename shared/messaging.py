"""The messaging contract of SPEC §4: event names, who consumes what, partner exchange names.

Events are nameko events: `dispatch(EVENT, payload)` on the source service's exchange
`<service>.events`, routing key = event name. Consumers are listed in SUBSCRIPTIONS so
every service can declare all durable handler queues at start: an event published
before its consumer first ran is then queued, not dropped.
"""
import sys

from amqp.exceptions import NotFound, PreconditionFailed
from kombu import Connection, Exchange, Queue
from nameko import config as nameko_config
from nameko import rpc as nameko_rpc
from nameko.amqp.publish import Publisher
from nameko.constants import AMQP_SSL_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY, NON_PERSISTENT
from nameko.events import EventHandler
from nameko.exceptions import deserialize_to_instance
from nameko.standalone.events import get_event_exchange
from nameko.timer import Timer

from shared.errors import KERNEL_ERRORS, SectoError

# identity
PERSON_CREATED = "person_created"
PERSON_UPDATED = "person_updated"
ORGANISATION_CHANGED = "organisation_changed"
ACCOUNT_CHANGED = "account_changed"
# announces a completed erasure in identity (SPEC §3); no service erases on it: each erases
# when its own erase_person RPC is called (PERSONAL_DATA_SERVICES below)
PERSON_ERASED = "person_erased"
CUSTOMER_RELATIONSHIP_CHANGED = "customer_relationship_changed"
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

# Services that hold personal data: each answers export_person, erase_person and erase_preview
# (SPEC §3). Erasure has one trigger, the erase_person RPC: the gateway's POST /persons/{id}/erase
# calls identity's and then the others' (a service that does not answer: 503, retried as a whole,
# every erase_person is idempotent); identity's retention calls the others' before it anonymises.
PERSONAL_DATA_SERVICES = ("identity", "fleet", "driver", "billing", "kyc", "marketing")

# (source service, event, consuming service, handler method) — one durable queue each,
# shared by every process of the consuming service (SERVICE_POOL: once per service).
SUBSCRIPTIONS = [
    ("identity", PERSON_CREATED, "driver", "on_person_created"),
    ("identity", PERSON_UPDATED, "driver", "on_person_updated"),
    ("fleet", VEHICLE_ASSIGNED, "driver", "on_vehicle_assigned"),
    ("fleet", CONTRACT_CHANGED, "driver", "on_contract_changed"),
    ("marketing", CONSENT_CHANGED, "driver", "on_consent_changed"),
    ("gateway", REQUEST_LOGGED, "identity", "on_request_logged"),
    ("identity", PERSON_CREATED, "marketing", "on_person_created"),
    ("identity", PERSON_UPDATED, "marketing", "on_person_updated"),
    ("driver", FUELING_RECORDED, "fleet", "on_fueling_recorded"),
    ("driver", TRIP_LOGGED, "fleet", "on_trip_logged"),
    ("identity", CUSTOMER_RELATIONSHIP_CHANGED, "kyc", "on_customer_relationship_changed"),
]

# Partner fueling (SPEC §4)
PARTNER_FUELING_EXCHANGE = "partner.fueling"
PARTNER_FUELING_QUEUE = "driver.partner_fueling"
PARTNER_FUELING_BINDING = "fueling.#"
PARTNER_FUELING_DEAD_QUEUE = "partner.fueling.dead"
REJECT_REASON_HEADER = "x-reject-reason"
# driver.partner_fueling is a quorum queue: the broker dead-letters a message delivered more than
# x-delivery-limit times (one that kills the consumer process, say) into partner.fueling.dead with
# x-first-death-reason "delivery_limit"; once full, publishes are refused (the partner's confirm fails).
PARTNER_QUEUE_ARGUMENTS = {
    "x-queue-type": "quorum",
    "x-delivery-limit": 10,
    "x-max-length": 1_000_000,
    "x-max-length-bytes": 512 * 1024 * 1024,
    "x-overflow": "reject-publish",
    "x-dead-letter-exchange": "",
    "x-dead-letter-routing-key": PARTNER_FUELING_DEAD_QUEUE,
}
PARTNER_MIGRATING_QUEUE = f"{PARTNER_FUELING_QUEUE}.migrating"


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
        partner_exchange()(channel).declare()
        Queue(PARTNER_FUELING_DEAD_QUEUE, durable=True)(channel).declare()
        declare_partner_queue(connection)


def partner_queue(name=PARTNER_FUELING_QUEUE) -> Queue:
    return Queue(name, exchange=partner_exchange(), routing_key=PARTNER_FUELING_BINDING, durable=True,
                 queue_arguments=PARTNER_QUEUE_ARGUMENTS)


def declare_partner_queue(connection) -> None:
    """Declare driver.partner_fueling; an existing queue of other arguments (the classic queue
    of earlier versions: RabbitMQ refuses to redeclare it, PRECONDITION_FAILED) is migrated."""
    try:
        partner_queue()(connection.channel()).declare()
    except PreconditionFailed:
        migrate_partner_queue(connection)
    if _exists(connection, PARTNER_MIGRATING_QUEUE):  # a migration that was interrupted
        migrate_partner_queue(connection)


def migrate_partner_queue(connection) -> None:
    """Replace driver.partner_fueling by a queue of PARTNER_QUEUE_ARGUMENTS without losing a
    message: a temporary queue of the same binding takes over the partner exchange, the old
    queue's messages move to it, the old queue is deleted and declared anew, the temporary
    queue's messages move back and it is deleted. Each message is published (confirmed)
    before it is acked, so an interruption can only duplicate messages, which the unique
    event_id makes harmless; several processes may run it at once (a step another one
    already did is skipped)."""
    channel = connection.channel()
    partner_queue(PARTNER_MIGRATING_QUEUE)(channel).declare()
    if _exists(connection, PARTNER_FUELING_QUEUE) and not _is_declarable(connection):
        _unbind(connection, PARTNER_FUELING_QUEUE)
        _drain_and_delete(connection, PARTNER_FUELING_QUEUE, PARTNER_MIGRATING_QUEUE)
    partner_queue()(connection.channel()).declare()
    _unbind(connection, PARTNER_MIGRATING_QUEUE)
    _drain_and_delete(connection, PARTNER_MIGRATING_QUEUE, PARTNER_FUELING_QUEUE)


def _exists(connection, name) -> bool:
    try:
        connection.channel().queue_declare(name, passive=True)
        return True
    except NotFound:
        return False


def _is_declarable(connection) -> bool:
    try:
        partner_queue()(connection.channel()).declare()
        return True
    except PreconditionFailed:
        return False


def _unbind(connection, name):
    try:
        connection.channel().queue_unbind(name, PARTNER_FUELING_EXCHANGE, PARTNER_FUELING_BINDING)
    except NotFound:
        pass


def _drain_and_delete(connection, source, target, attempts=5):
    """Move source's messages to target, then delete source once it is empty. (Nothing routes
    to source any more; a message a consumer of source holds unacked goes with the queue, but
    that consumer stores it before it acks.)"""
    channel = connection.channel()
    try:
        for _ in range(attempts):
            while (message := channel.basic_get(source)) is not None:
                channel.basic_publish_confirm(message, exchange="", routing_key=target)
                channel.basic_ack(message.delivery_tag)
            # quorum queues refuse queue.delete(if_empty=True)
            if not channel.queue_declare(source, passive=True).message_count:
                channel.queue_delete(source)
                return
    except NotFound:  # another process finished this step
        pass


# RPC requests and replies are transient (delivery_mode 1): they are worthless after the
# caller's timeout, and a persistent one would write its arguments (a national id, say) to the
# broker's disk. Events stay persistent and carry no national id (tests/test_event_payloads.py).

class TransientPublisher(Publisher):
    delivery_mode = NON_PERSISTENT


class TransientResponder(nameko_rpc.Responder):
    """A SectoError goes out as its kernel class (SectoError.on_wire): the caller rebuilds it
    from nameko's registry with status and code, whichever service class was raised."""
    publisher_cls = TransientPublisher

    def send_response(self, result, exc_info):
        if exc_info is None or not isinstance(exc_info[1], SectoError):
            return super().send_response(result, exc_info)
        wire = exc_info[1].on_wire()
        super().send_response(result, (type(wire), wire, exc_info[2]))
        return result, exc_info


# an RPC caller rebuilds these from a reply (nameko's registry); a service's own subclasses never travel
for _error in KERNEL_ERRORS:
    deserialize_to_instance(_error)


class TransientRpcConsumer(nameko_rpc.RpcConsumer):
    def handle_result(self, message, result, exc_info):
        responder = TransientResponder(self.amqp_uri, nameko_rpc.get_rpc_exchange(), message,
                                       ssl=nameko_config.get(AMQP_SSL_CONFIG_KEY),
                                       login_method=nameko_config.get(LOGIN_METHOD_CONFIG_KEY))
        result, exc_info = responder.send_response(result, exc_info)
        self.consumer.ack_message(message)
        return result, exc_info


def finish_unit_of_work(worker_ctx, result, exc_info):
    """Called by the entrypoints below before they reply or ack: the service's unit of work
    (shared.db.Database) commits and sends its events — or, when the method failed, commits
    only what the use case kept on that error (shared.db.keep_on); a failed commit becomes the
    entrypoint's error instead of an answer that claims success."""
    try:
        for provider in worker_ctx.container.dependencies:
            if not getattr(provider, "unit_of_work", False):
                continue
            if exc_info is None:
                provider.finish(worker_ctx)
            else:
                provider.finish_failed(worker_ctx, exc_info[1])
    except Exception:  # noqa: BLE001 - handed to the entrypoint like the method's own error
        return None, exc_info or sys.exc_info()
    return result, exc_info


class Rpc(nameko_rpc.Rpc):
    """nameko's RPC entrypoint, replying with transient messages once the unit of work is
    committed. Every @rpc of a service must be this one: they share one consumer of the
    service's RPC queue."""
    rpc_consumer = TransientRpcConsumer()

    def handle_result(self, message, worker_ctx, result, exc_info):
        result, exc_info = finish_unit_of_work(worker_ctx, result, exc_info)
        return super().handle_result(message, worker_ctx, result, exc_info)


class ServiceEventHandler(EventHandler):
    """nameko's event handler, acking once the unit of work is committed (a failed commit
    is the handler's error: the message is parked, see shared.service_base)."""

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        result, exc_info = finish_unit_of_work(worker_ctx, result, exc_info)
        return super().handle_result(message, worker_ctx, result, exc_info)


rpc = Rpc.decorator
event_handler = ServiceEventHandler.decorator
timer = Timer.decorator  # no answer to wait for: the unit of work finishes in Database.worker_result


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
