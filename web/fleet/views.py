from flask import g, render_template

from web.auth import signed_in
from web.fleet import blueprint

FLEET_ROLES = ("fleet_manager", "staff")


@blueprint.route("/")
@signed_in(*FLEET_ROLES)
def dashboard():
    vehicles = g.api.all_items("/vehicles")
    by_status = {}
    for vehicle in vehicles:
        by_status[vehicle["status"]] = by_status.get(vehicle["status"], 0) + 1
    return render_template("fleet/dashboard.html", by_status=sorted(by_status.items()))
