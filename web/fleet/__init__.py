"""Fleet Manager portal (SPEC §6 /fleet/): a customer company's cars, contracts,
deliveries, dealerships, reports and users, as its fleet managers (and staff) see them."""
from flask import Blueprint

blueprint = Blueprint("fleet", __name__, template_folder="../templates")

from web.fleet import views  # noqa: E402,F401  (registers the routes)
