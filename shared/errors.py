"""One error hierarchy. Services raise subclasses; callers map them by status and code.

Over RPC an error travels as the kernel class below it derives from (a service's
`FileTooLarge` as a `PayloadTooLarge`) with its message, details, code and status in its
arguments (`on_wire`; shared.messaging sends and registers them), so a caller such as the
gateway needs none of the service's exception classes: it reads `status` and `code`.
"""


class SectoError(Exception):
    status = 500
    code = "internal_error"
    default_message = "Internal error"

    def __init__(self, message=None, details=None, code=None, status=None):
        self.code = code or self.code
        self.status = int(status or self.status)  # nameko sends numbers in arguments as strings
        super().__init__(message or self.default_message, details or {}, self.code, self.status)

    @property
    def message(self):
        return self.args[0]

    @property
    def details(self):
        return self.args[1]

    def on_wire(self) -> "SectoError":
        """This error as an RPC caller receives it: an instance of the kernel class it derives
        from, with the same message, details, code and status."""
        kernel = next(cls for cls in type(self).__mro__ if cls in KERNEL_ERRORS)
        return kernel(self.message, self.details, self.code, self.status)

    def __str__(self):
        return self.message


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


# what travels over RPC (SectoError.on_wire); shared.messaging registers them with nameko
KERNEL_ERRORS = (SectoError, ValidationFailed, Unauthorized, NotFound, Conflict, PayloadTooLarge,
                 UnsupportedMediaType, TooManyRequests, ServiceUnavailable)
