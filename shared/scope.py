"""The one scope policy, without SQL (the gateway passes scopes; shared.db filters by them).

Every RPC that returns customer data takes the caller's scope explicitly: STAFF_SCOPE
(everything) or the list of organisation (customer) ids the caller may see. Rows are
filtered by the organisation that owned them when they were made, never by where a
vehicle is now. A missing or malformed scope is a programming error, never "everything".
"""

STAFF_SCOPE = "staff"


class MissingScope(TypeError):
    """An RPC that returns customer data was called without the caller's scope."""


def checked_scope(scope):
    """STAFF_SCOPE or a list of ids; anything else (None included) raises MissingScope."""
    if scope == STAFF_SCOPE:
        return scope
    if isinstance(scope, (list, tuple)) and all(isinstance(value, str) for value in scope):
        return list(scope)
    raise MissingScope(f"scope must be {STAFF_SCOPE!r} or a list of organisation ids, not {scope!r}")


def is_staff(scope) -> bool:
    return checked_scope(scope) == STAFF_SCOPE


def visible(value, scope) -> bool:
    """A loaded row's owning organisation is in the caller's scope (shared.db.in_scope in SQL)."""
    return is_staff(scope) or value in scope
