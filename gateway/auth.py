"""The one authentication and authorisation check of the gateway.

A bearer token is verified locally (signature, algorithm, exp), then identity confirms
the account is still active and returns who it is and which organisations it may see.
That answer is kept briefly per (account, token version) in PRINCIPALS; see PrincipalCache
for what drops it.
"""
import time
from dataclasses import dataclass

from nameko.extensions import DependencyProvider

from shared import config, tokens
from shared.errors import NotFound, Unauthorized
from shared.scope import STAFF_SCOPE

STAFF = ("staff",)
FLEET_MANAGER = ("fleet_manager",)
DRIVER = ("driver",)
STAFF_OR_MANAGER = STAFF + FLEET_MANAGER


@dataclass(frozen=True)
class Principal:
    account_id: str
    role: str
    person_id: str | None
    organisation_id: str | None
    scope: str | None
    organisation_ids: tuple

    @property
    def is_staff(self) -> bool:
        return self.role == "staff"

    def visible_organisations(self):
        """The scope every service RPC that returns customer data takes (shared.db's one
        scope policy): STAFF_SCOPE for staff, otherwise the organisation ids in scope
        (none for a driver, whose own data is reached by person under /me)."""
        return STAFF_SCOPE if self.is_staff else list(self.organisation_ids)

    def redact_person(self, person: dict) -> dict:
        """Property level: only staff ever see a national id, even masked."""
        return person if self.is_staff else {k: v for k, v in person.items() if k != "national_id"}

    def narrowed_to(self, organisation_id):
        """The scope, or only `organisation_id` of it (one company of a group): a narrower
        scope passed to the service, never a wider one."""
        scope = self.visible_organisations()
        if not organisation_id:
            return scope
        if scope != STAFF_SCOPE and organisation_id not in scope:
            raise NotFound()
        return [organisation_id]


def bearer_token(request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


CLAIMS_KEY = "secto.token_claims"


def verified_claims(request) -> dict:
    """The claims of the request's bearer token, verified once per request (the rate
    limits and the auth check both need them); Unauthorized without a valid one."""
    claims = request.environ.get(CLAIMS_KEY)
    if claims is None:
        token = bearer_token(request)
        if token is None:
            raise Unauthorized("Send 'Authorization: Bearer <token>'")
        claims = request.environ[CLAIMS_KEY] = tokens.verify(token)
    return claims


class PrincipalCache:
    """identity's answer for (account id, token version), kept GATEWAY_PRINCIPAL_TTL seconds
    (default 5; 0 turns the cache off) instead of one identity RPC per request. Dropped
    at once when it may have changed: by identity's account_changed (password changed or
    reset, deactivated, role/scope/organisation changed, person erased), organisation_changed
    (a group's members) events, which every gateway process receives (GatewayService's
    on_account_changed / on_organisation_changed), and, before the gateway answers, by a call
    of this gateway process that makes such a change (gateway.dependencies: REVOKING_CALLS). An
    answer fetched while a change was dropping entries is not kept (it may predate it);
    the TTL only bounds the harm of an event lost with a broker connection."""
    MAX_ENTRIES = 10_000

    def __init__(self, ttl=None):
        self.ttl = float(config.env("GATEWAY_PRINCIPAL_TTL", "5")) if ttl is None else ttl
        self.entries = {}  # (account_id, token_version) -> (expires_at, data)
        self.generation = 0  # counts drops

    def get(self, key):
        entry = self.entries.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            self.entries.pop(key, None)
            return None
        return entry[1]

    def put(self, key, data, generation) -> None:
        if self.ttl <= 0 or generation != self.generation:
            return
        now = time.monotonic()
        if len(self.entries) >= self.MAX_ENTRIES:
            self.entries = {k: entry for k, entry in self.entries.items() if entry[0] > now}
        if len(self.entries) < self.MAX_ENTRIES:
            self.entries[key] = (now + self.ttl, data)

    def forget(self, account_id=None) -> None:
        """Drop the entries of one account, or all of them."""
        self.generation += 1
        if account_id is None:
            self.entries.clear()
        else:
            for key in [key for key in self.entries if key[0] == account_id]:
                del self.entries[key]


PRINCIPALS = PrincipalCache()  # one per gateway process


class Auth(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return Authenticator(worker_ctx)


class Authenticator:
    def __init__(self, worker_ctx):
        self.worker_ctx = worker_ctx

    def authenticate(self, request) -> Principal:
        claims = verified_claims(request)
        key = (claims["sub"], claims["ver"])
        data = PRINCIPALS.get(key)
        if data is None:
            generation = PRINCIPALS.generation
            data = self.worker_ctx.service.rpc.identity.get_principal(*key)
            PRINCIPALS.put(key, data, generation)
        principal = Principal(**{**data, "organisation_ids": tuple(data["organisation_ids"])})
        # every RPC and event of this request carries who asked (for audit logs)
        self.worker_ctx.context_data.update(account_id=principal.account_id, role=principal.role)
        return principal
