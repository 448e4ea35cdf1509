"""A service's error reaches an RPC caller by status and code, without the caller knowing the
service's exception class (issue 13 §1: the gateway imports no service's exceptions)."""
import pytest
from nameko.exceptions import get_module_path, registry
from nameko.standalone.rpc import ServiceRpcClient

from shared.errors import Conflict, NotFound, PayloadTooLarge, SectoError
from shared.messaging import rpc


class DocumentTooLarge(PayloadTooLarge):
    """A service's own error: a code of its own under a kernel class."""
    code = "document_too_large"
    default_message = "The document is too large"


class Teapot(SectoError):
    """A status no kernel class has: it travels as a SectoError and keeps it."""
    status = 418
    code = "teapot"
    default_message = "I am a teapot"


class RaisingService:
    name = "raising"

    @rpc
    def too_large(self):
        raise DocumentTooLarge(details={"max_bytes": 10})

    @rpc
    def teapot(self):
        raise Teapot()

    @rpc
    def conflict(self):
        raise Conflict("Taken", {"field": ["taken"]})


def test_a_service_error_arrives_as_its_kernel_class_with_status_code_message_and_details(
        vhost_uri, container_factory):
    assert get_module_path(DocumentTooLarge) not in registry  # the caller cannot rebuild the service's class
    container_factory(RaisingService, {"AMQP_URI": vhost_uri}).start()
    with ServiceRpcClient("raising", uri=vhost_uri, timeout=30) as client:
        with pytest.raises(PayloadTooLarge) as too_large:
            client.too_large()
        with pytest.raises(SectoError) as teapot:
            client.teapot()
        with pytest.raises(Conflict) as conflict:
            client.conflict()

    assert type(too_large.value) is PayloadTooLarge
    assert (too_large.value.status, too_large.value.code, too_large.value.message) == (
        413, "document_too_large", "The document is too large")
    assert int(too_large.value.details["max_bytes"]) == 10  # nameko's serialisation sends numbers as strings
    assert (type(teapot.value), teapot.value.status, teapot.value.code) == (SectoError, 418, "teapot")
    assert (conflict.value.status, conflict.value.code, conflict.value.details) == (
        409, "conflict", {"field": ["taken"]})
    assert not isinstance(conflict.value, NotFound)
