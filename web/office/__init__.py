"""The back office (SPEC §6 /office/): the screens Secto's staff run customers, KYC,
billing and data-protection requests with. Staff only; everyone else gets the 404 page."""
from flask import Blueprint, g

from web.api import ApiError
from web.auth import signed_in

blueprint = Blueprint("office", __name__)
staff_only = signed_in("staff")


@blueprint.before_request
@staff_only
def _staff_only():
    """Every /office/ path: the login page without a session, 404 for any other role."""
    return None


def optional(path, **params):
    """A GET whose 404 means 'none yet' (e.g. a billing profile)."""
    try:
        return g.api.get(path, **params)
    except ApiError as error:
        if error.status == 404:
            return None
        raise


from web.office import people, work  # noqa: E402,F401  (routes register on the blueprint)
