"""One mixin per domain; what more than one of them needs is here."""
from shared.errors import NotFound


def require_customer(rpc, customer_id, scope):
    """A customer is an organisation or a person known to identity within `scope` (NotFound otherwise)."""
    try:
        rpc.identity.get_organisation(customer_id, scope)
    except NotFound:
        rpc.identity.get_person(customer_id, scope)
