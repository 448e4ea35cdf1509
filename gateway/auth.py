"""The one authentication and authorisation check of the gateway.

A bearer token is verified locally (signature, algorithm, exp), then identity confirms
the account is still active and returns who it is and which organisations it may see.
"""
from dataclasses import dataclass

from nameko.extensions import DependencyProvider

from shared import tokens
from shared.errors import NotFound, Unauthorized

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
        """None means every organisation (staff); otherwise the ids in scope."""
        return None if self.is_staff else list(self.organisation_ids)

    def can_see_organisation(self, organisation_id) -> bool:
        return self.is_staff or organisation_id in self.organisation_ids

    def redact_person(self, person: dict) -> dict:
        """Property level: only staff ever see a national id, even masked."""
        return person if self.is_staff else {k: v for k, v in person.items() if k != "national_id"}

    def narrowed_to(self, organisation_id):
        """The caller's scope, or only `organisation_id` of it (a group's one company)."""
        if not organisation_id:
            return self.visible_organisations()
        self.require_organisation(organisation_id)
        return [organisation_id]

    def require_organisation(self, organisation_id) -> None:
        """Objects outside the caller's scope do not exist for the caller: 404."""
        if not self.can_see_organisation(organisation_id):
            raise NotFound()


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
