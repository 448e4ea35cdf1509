"""The reply listener tolerates RPCs made while its container starts, not lost replies; the
partner queue's migration and delivery limit."""
import urllib.parse
from types import SimpleNamespace

import pika
import pytest
import requests
from nameko import config
from nameko.exceptions import ReplyQueueExpiredWithPendingReplies

from shared.config import rabbit_api_uri
from shared.messaging import (PARTNER_FUELING_DEAD_QUEUE, PARTNER_FUELING_EXCHANGE, PARTNER_FUELING_QUEUE,
                              PARTNER_MIGRATING_QUEUE, PARTNER_QUEUE_ARGUMENTS, ReplyListener, declare_topology)
from shared.waiting import wait_for


def test_first_connection_with_pending_call_is_not_a_lost_reply(vhost_uri):
    with config.patch({"AMQP_URI": vhost_uri}):
        listener = ReplyListener()
        listener.container = SimpleNamespace(service_name="gateway")
        listener.setup()
        listener.pending["call-made-during-start"] = object()
        listener.check_for_lost_replies()  # first connection: the queue is about to be declared
        with pytest.raises(ReplyQueueExpiredWithPendingReplies):
            listener.check_for_lost_replies()  # a reconnection to a queue that is gone


def test_a_classic_partner_queue_is_migrated_to_the_quorum_queue_without_losing_a_message(vhost_uri):
    """Issue 12 §1: RabbitMQ refuses to redeclare an existing queue with other arguments
    (PRECONDITION_FAILED); declare_topology moves the messages over instead."""
    connection = pika.BlockingConnection(pika.URLParameters(vhost_uri))
    channel = connection.channel()
    channel.exchange_declare(PARTNER_FUELING_EXCHANGE, "topic", durable=True)
    channel.queue_declare(PARTNER_FUELING_QUEUE, durable=True)  # as earlier versions declared it
    channel.queue_bind(PARTNER_FUELING_QUEUE, PARTNER_FUELING_EXCHANGE, "fueling.#")
    channel.confirm_delivery()
    sent = {f"message {n}".encode() for n in range(200)}
    for body in sent:
        channel.basic_publish(PARTNER_FUELING_EXCHANGE, "fueling.neste", body, pika.BasicProperties(delivery_mode=2))

    declare_topology(vhost_uri)
    declare_topology(vhost_uri)  # and then it is the queue's own arguments

    api = urllib.parse.urlparse(rabbit_api_uri())
    base = f"{api.scheme}://{api.hostname}:{api.port}/api/queues/{urllib.parse.urlparse(vhost_uri).path[1:]}"
    queue = requests.get(f"{base}/{PARTNER_FUELING_QUEUE}", auth=(api.username, api.password), timeout=10).json()
    assert queue["type"] == "quorum" and queue["arguments"] == PARTNER_QUEUE_ARGUMENTS
    assert requests.get(f"{base}/{PARTNER_MIGRATING_QUEUE}", auth=(api.username, api.password),
                        timeout=10).status_code == 404
    received = set()
    while (message := channel.basic_get(PARTNER_FUELING_QUEUE, auto_ack=True))[0] is not None:
        received.add(message[2])
    channel.basic_publish(PARTNER_FUELING_EXCHANGE, "fueling.neste", b"after", pika.BasicProperties(delivery_mode=2))
    assert received == sent and channel.basic_get(PARTNER_FUELING_QUEUE, auto_ack=True)[2] == b"after"
    connection.close()


def test_a_partner_message_delivered_too_often_is_dead_lettered_by_the_broker(vhost_uri):
    """Whatever makes the consumer lose a message again and again (a crash, a kill) ends after
    x-delivery-limit deliveries: the broker moves it to partner.fueling.dead."""
    declare_topology(vhost_uri)
    connection = pika.BlockingConnection(pika.URLParameters(vhost_uri))
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_publish(PARTNER_FUELING_EXCHANGE, "fueling.neste", b"poison", pika.BasicProperties(delivery_mode=2))
    deliveries = []

    def lose_it_or_find_it_dead():
        method, _, _ = channel.basic_get(PARTNER_FUELING_QUEUE)
        if method is not None:
            deliveries.append(method.delivery_tag)
            channel.basic_nack(method.delivery_tag, requeue=True)  # as a consumer that dies does
            return None
        method, properties, body = channel.basic_get(PARTNER_FUELING_DEAD_QUEUE, auto_ack=True)
        return method is not None and (properties, body)
    properties, body = wait_for(lose_it_or_find_it_dead, timeout=30, interval=0.05)
    connection.close()
    assert body == b"poison" and properties.headers["x-first-death-reason"] == "delivery_limit"
    assert len(deliveries) == PARTNER_QUEUE_ARGUMENTS["x-delivery-limit"] + 1
