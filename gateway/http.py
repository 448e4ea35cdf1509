"""HTTP plumbing of the gateway: the JSON entrypoint (correlation id, body limits,
the one error -> status mapping), the `route` decorator that also feeds OpenAPI,
and request/response helpers."""
import functools
import json
import re
import time
import uuid
from dataclasses import dataclass
from functools import partial

from eventlet.event import Event
from nameko import config as nameko_config
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter, Map
from werkzeug.wrappers import Request, Response

from shared import config, validators
from shared.errors import NotFound, PayloadTooLarge, SectoError, UnsupportedMediaType, ValidationFailed
from shared.logging import CORRELATION_ID, get_logger
from shared.metrics import HTTP_SECONDS
from shared.schemas import PageQuery, load

from gateway.limits import RateLimits
from gateway.usage import UsageRecorder

API = "/api/v1"
MAX_BODY = 1024 * 1024
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
ID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
log = get_logger("gateway.http")


def json_response(payload, status=200, headers=None) -> Response:
    return Response(json.dumps(payload, default=str), status=status, headers=headers,
                    mimetype="application/json")


def error_response(error: SectoError) -> Response:
    """By status and code only: a service's error arrives as its kernel class (shared.errors)."""
    headers = {}
    if error.status == 429 and error.details.get("retry_after"):
        headers["Retry-After"] = str(error.details["retry_after"])
    return json_response({"error": error.code, "message": error.message, "details": error.details},
                         error.status, headers)


def internal_error_response(correlation_id) -> Response:
    return json_response({"error": "internal_error", "message": "Internal error",
                          "details": {"correlation_id": correlation_id}}, 500)


# every answer: no MIME sniffing, not framed, not cached (personal data), no active content
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


def secure(response: Response) -> Response:
    """Add SECURITY_HEADERS; a route may set its own Cache-Control or CSP (the docs page)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


class JsonWsgiApp(WsgiApp):
    """Unknown path / wrong method answer JSON too; every answer gets SECURITY_HEADERS."""

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
            request.path_values = values
            response = provider.handle_request(request)
        except HTTPException as exc:
            response = json_response({"error": exc.name.lower().replace(" ", "_"),
                                      "message": exc.description, "details": {}}, exc.code)
            if exc.code == 405:
                response.headers["Allow"] = ", ".join(exc.valid_methods or [])
        return secure(response)(environ, start_response)


class IdConverter(BaseConverter):
    """Path segments named *_id are UUIDs: `/invoices/run` is not `/invoices/<invoice_id>`."""
    regex = ID_PATTERN


class JsonWebServer(WebServer):
    def make_url_map(self):
        url_map = Map(converters={"id": IdConverter})
        for provider in self._providers:
            rule = provider.get_url_rule()
            rule.endpoint = provider
            url_map.add(rule)
        return url_map

    def setup(self):
        super().setup()
        self.usage = UsageRecorder(nameko_config.get("AMQP_URI", config.amqp_uri()))
        self.limits = RateLimits()

    def get_wsgi_app(self):
        return JsonWsgiApp(self)

    def stop(self):
        super().stop()
        self.usage.flush()


class HttpEntrypoint(HttpRequestHandler):
    server = JsonWebServer()

    def __init__(self, method, url, max_body=MAX_BODY, **kwargs):
        self.max_body = max_body
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        started = time.perf_counter()
        request.shallow = False
        incoming = request.headers.get("X-Request-ID", "")
        correlation_id = incoming if REQUEST_ID_RE.match(incoming) else str(uuid.uuid4())
        context_data = {CORRELATION_ID: correlation_id}  # auth adds account_id and role to it
        try:
            self.server.limits.check(request)
            self._check_size(request)
            self._check_text(request)
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            event = Event()
            self.container.spawn_worker(self, args, kwargs, context_data=context_data,
                                        handle_result=partial(self.handle_result, event))
            response = self.response_from_result(event.wait())
        except SectoError as error:
            response = error_response(error)
        except Exception:
            log.exception("http.unhandled", correlation_id=correlation_id, path=request.path)
            response = internal_error_response(correlation_id)
        response.headers["X-Request-ID"] = correlation_id
        self.server.usage.record(request, response.status_code, context_data)
        HTTP_SECONDS.labels(self.method, self.url, response.status_code).observe(time.perf_counter() - started)
        return response

    @staticmethod
    def _check_text(request):
        """Path and query values reach the services' databases too."""
        values = {**getattr(request, "path_values", {}), **request.args.to_dict()}
        unstorable = {name: [validators.UNSTORABLE_TEXT] for name, value in values.items()
                      if not validators.storable(value)}
        if unstorable:
            raise ValidationFailed("Invalid input", unstorable)

    def _check_size(self, request):
        request.max_content_length = self.max_body
        if request.content_length is not None and request.content_length > self.max_body:
            raise PayloadTooLarge(f"Body larger than {self.max_body} bytes",
                                  {"max_bytes": self.max_body})

    def response_from_result(self, result):
        if isinstance(result, Response):
            return result
        status, payload = result if isinstance(result, tuple) else (200, result)
        return json_response(payload, status)


# --- routes and their OpenAPI description -----------------------------------------

@dataclass(frozen=True)
class Route:
    method: str
    path: str
    summary: str
    tag: str
    body: object = None
    response: object = None
    status: int = 200
    paginated: bool = False
    query: object = None
    roles: tuple | None = None
    auth: bool = True
    content_types: tuple = ("application/json",)
    statuses: tuple = ()
    rules: str | None = None
    operation_id: str | None = None


ROUTES: list[Route] = []


def route(method, path, *, summary, tag, body=None, response=None, status=200, paginated=False,
          query=None, roles=None, auth=True, max_body=MAX_BODY, content_types=("application/json",), statuses=(),
          rules=None):
    """Declare an HTTP endpoint. With auth (the default) the handler is called as
    fn(self, request, principal, **path_values); roles limits who may call it at all
    (anyone else gets 404, as for an object outside their scope). `statuses`: answers the
    handler itself can give beyond those gateway.openapi derives from the declaration; `rules`:
    rules between fields (or on other objects) that the schema cannot state, answered 400."""
    def decorate(fn):
        ROUTES.append(Route(method, path, summary, tag, body, response, status, paginated, query,
                            tuple(roles) if roles else None, auth, content_types, tuple(statuses), rules,
                            operation_id=fn.__name__))

        @functools.wraps(fn)
        def endpoint(self, request, **path_values):
            if not auth:
                return fn(self, request, **path_values)
            principal = self.auth.authenticate(request)
            if roles and principal.role not in roles:
                raise NotFound()
            return fn(self, request, principal, **path_values)

        url = re.sub(r"<string:([a-z_]+_id)>", r"<id:\1>", API + path)
        return HttpEntrypoint.decorator(method, url, max_body=max_body)(endpoint)

    return decorate


def json_body(request) -> dict:
    """The request body as a JSON object: 415 unless JSON, 400 if unparsable."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("Send the body as application/json", {"content_type": request.mimetype})
    try:
        data = json.loads(request.get_data(cache=True) or b"")
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("Body is not valid JSON", {"_body": ["Invalid JSON."]}) from None
    if not isinstance(data, dict):
        raise ValidationFailed("Body must be a JSON object", {"_body": ["Expected a JSON object."]})
    return data


def page_args(request) -> tuple[dict, int, str | None]:
    """Split query args into (filters, limit, cursor); limit and cursor validated here."""
    args = request.args.to_dict()
    paging = load(PageQuery(), {key: args.pop(key) for key in ("limit", "cursor") if key in args})
    return args, paging["limit"], paging["cursor"]


def created(payload):
    return 201, payload
