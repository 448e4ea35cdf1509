"""Driver Assistant (SPEC §6 /driver/): the driver's own car, driving log (also offline),
fuelings, washes, tires, location and privacy, as an installable mobile-first web app."""
from flask import Blueprint

blueprint = Blueprint("driver", __name__, template_folder="../templates")

from web.driver import views  # noqa: E402,F401  (registers the routes)
