"""The one authentication and authorisation check of the gateway.

A bearer token is verified locally (signature, algorithm, exp), then identity confirms
the account is still active and returns who it is and which organisations it may see.
"""
from dataclasses import dataclass

from nameko.extensions import DependencyProvider

from shared import tokens
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


class Auth(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return Authenticator(worker_ctx)


class Authenticator:
    def __init__(self, worker_ctx):
        self.worker_ctx = worker_ctx

    def authenticate(self, request) -> Principal:
        token = bearer_token(request)
        if token is None:
            raise Unauthorized("Send 'Authorization: Bearer <token>'")
        claims = tokens.verify(token)
        service = self.worker_ctx.service
        data = service.rpc.identity.get_principal(claims["sub"], claims["ver"])
        principal = Principal(**{**data, "organisation_ids": tuple(data["organisation_ids"])})
        # every RPC and event of this request carries who asked (for audit logs)
        self.worker_ctx.context_data.update(account_id=principal.account_id, role=principal.role)
        return principal
