"""One error hierarchy. Services raise subclasses; the gateway maps them by isinstance.

Every subclass registers itself with nameko so an RPC caller gets the real type back
(not a RemoteError) wherever the class has been imported.
"""
from nameko.exceptions import get_module_path, registry


class SectoError(Exception):
    status = 500
    code = "internal_error"
    default_message = "Internal error"

    def __init__(self, message=None, details=None):
        super().__init__(message or self.default_message, details or {})

    @property
    def message(self):
        return self.args[0]

    @property
    def details(self):
        return self.args[1]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        registry[get_module_path(cls)] = cls

    def __str__(self):
        return self.message


registry[get_module_path(SectoError)] = SectoError


class ValidationFailed(SectoError):
    """details maps field name -> list of messages."""
    status = 400
    code = "validation_error"
    default_message = "Invalid input"


class Unauthorized(SectoError):
    status = 401
    code = "unauthorized"
    default_message = "Missing or invalid credentials"


class NotFound(SectoError):
    status = 404
    code = "not_found"
    default_message = "Not found"


class Conflict(SectoError):
    status = 409
    code = "conflict"
    default_message = "Conflict with the current state"


class PayloadTooLarge(SectoError):
    status = 413
    code = "payload_too_large"
    default_message = "Request body too large"


class UnsupportedMediaType(SectoError):
    status = 415
    code = "unsupported_media_type"
    default_message = "Unsupported content type"


class TooManyRequests(SectoError):
    """details may carry retry_after (seconds)."""
    status = 429
    code = "too_many_requests"
    default_message = "Too many requests"


class ServiceUnavailable(SectoError):
    """details carries the service that did not answer."""
    status = 503
    code = "service_unavailable"
    default_message = "A service did not answer"
