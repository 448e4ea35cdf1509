"""The gateway's API as the signed-in user sees it.

`g.api` carries the user's own token (decrypted from the session cookie), and the
user's address and browser, which the gateway trusts from this app only (its
GATEWAY_TRUSTED_PROXIES), so rate limits, lockouts and usage data stay per person.
"""
from concurrent.futures import ThreadPoolExecutor

import requests
from flask import current_app, g, request

from web import session_token

TIMEOUT = 15


class ApiError(Exception):
    """An answer other than 2xx: status, the API's error code, message and field details."""

    def __init__(self, status, code, message, details=None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details or {}

    @property
    def field_errors(self) -> dict:
        return self.details if self.status == 400 and isinstance(self.details, dict) else {}


class Api:
    def __init__(self, base_url, token=None, headers=None, http=None):
        self.base_url, self.token, self.headers = base_url, token, headers or {}
        self.http = http or requests.Session()

    def raw(self, method, path, **kwargs) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            return self.http.request(method, self.base_url + path, headers=headers, timeout=TIMEOUT, **kwargs)
        except requests.RequestException:
            raise ApiError(503, "service_unavailable", "The API did not answer", {"service": "gateway"}) from None

    def call(self, method, path, **kwargs):
        response = self.raw(method, path, **kwargs)
        if response.status_code >= 400:
            raise error_of(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def get(self, path, **params):
        return self.call("GET", path, params={k: v for k, v in params.items() if v not in (None, "")})

    def post(self, path, json=None, **kwargs):
        return self.call("POST", path, json=json, **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.call("PUT", path, json=json, **kwargs)

    def patch(self, path, json=None):
        return self.call("PATCH", path, json=json)

    def delete(self, path):
        return self.call("DELETE", path)

    def get_many(self, *reads):
        """A page's independent reads at once: (path, params) pairs → their bodies, in order
        (green threads in the web process; the first error is raised as `get` would)."""
        with ThreadPoolExecutor(max_workers=len(reads)) as pool:
            return list(pool.map(lambda read: self.get(read[0], **read[1]), reads))

    def all_items(self, path, limit=200, most=2000, **params):
        """Every item of a list endpoint (for a report or a select), at most `most`."""
        items, cursor = [], None
        while len(items) < most:
            page = self.get(path, limit=limit, cursor=cursor, **params)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return items


def error_of(response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    return ApiError(response.status_code, body.get("error", "error"), body.get("message", response.reason),
                    body.get("details"))


def _http() -> requests.Session:
    """One connection pool per process (keep-alive to the gateway)."""
    http = current_app.extensions.get("secto_http")
    if http is None:
        http = current_app.extensions["secto_http"] = requests.Session()
    return http


def client_headers() -> dict:
    """Who is really asking, for the gateway's per-person limits and usage data."""
    forwarded = request.headers.get("X-Forwarded-For") if current_app.config.get("WEB_BEHIND_PROXY") else None
    return {"X-Forwarded-For": forwarded or request.remote_addr or "",
            "User-Agent": request.headers.get("User-Agent", "")[:500],
            "Accept-Language": request.headers.get("Accept-Language", "")[:200]}


def init_app(app):
    @app.before_request
    def attach_api():
        g.api = Api(app.config["GATEWAY_URL"], session_token.load(), client_headers(), _http())
