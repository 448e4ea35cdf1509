"""The reply listener tolerates RPCs made while its container starts, not lost replies."""
from types import SimpleNamespace

import pytest
from nameko import config
from nameko.exceptions import ReplyQueueExpiredWithPendingReplies

from shared.messaging import ReplyListener


def test_first_connection_with_pending_call_is_not_a_lost_reply(vhost_uri):
    with config.patch({"AMQP_URI": vhost_uri}):
        listener = ReplyListener()
        listener.container = SimpleNamespace(service_name="gateway")
        listener.setup()
        listener.pending["call-made-during-start"] = object()
        listener.check_for_lost_replies()  # first connection: the queue is about to be declared
        with pytest.raises(ReplyQueueExpiredWithPendingReplies):
            listener.check_for_lost_replies()  # a reconnection to a queue that is gone
