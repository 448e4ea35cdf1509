"""Fleet Manager screens. Each view wraps the API calls of its page; scope is the API's."""
import datetime as dt
import hashlib
import time

import pygal
from flask import Response, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from web.api import ApiError, error_of
from web.auth import signed_in
from web.fleet import blueprint
from web.fleet.forms import SettingsForm
from web.forms import submit
from web.security import style_nonce

FLEET_ROLES = ("fleet_manager", "staff")
LIST_LIMIT = 50
REPORTS = {  # name -> (title, API path)
    "contracts-ending": ("Contracts ending", "/reports/contracts-ending"),
    "km-overrun": ("Projected km overrun", "/reports/km-overrun"),
    "co2-by-cost-center": ("CO2 by cost center", "/reports/co2-by-cost-center"),
    "fuel": ("Fuel", "/reports/fuel"),
    "cost-per-km": ("Cost per km", "/reports/cost-per-km"),
}
REPORT_PARAMS = ("days", "from", "to", "cursor")


def company() -> str | None:
    """The one company of a group a page is narrowed to (`?organisation_id=`), if any."""
    return request.args.get("organisation_id") or None


@blueprint.context_processor
def narrowing():
    """Group-scope managers may narrow every page to one company of their group."""
    if session.get("scope") != "group":
        return {"group_companies": []}
    return {"group_companies": group_companies(), "selected_company": company()}


_GROUP_COMPANIES = {}  # sha256 of the user's token -> (read at, the companies its scope shows)
GROUP_COMPANIES_SECONDS = 60


def group_companies() -> list:
    """The companies of the user's group for the picker, read once a minute per token, not
    on every page (the API decides what the token sees; the cache only remembers it)."""
    key = hashlib.sha256((g.api.token or "").encode()).hexdigest()
    read_at, companies = _GROUP_COMPANIES.get(key, (0.0, None))
    if companies is None or time.monotonic() - read_at > GROUP_COMPANIES_SECONDS:
        try:
            companies = g.api.all_items("/organisations", most=200)
        except ApiError:
            return []
        if len(_GROUP_COMPANIES) > 1000:
            _GROUP_COMPANIES.clear()
        _GROUP_COMPANIES[key] = (time.monotonic(), companies)
    return companies


def lead_time_days() -> int:
    """The company's reminder lead time for contracts ending (default 90 days)."""
    organisation_id = company() or session.get("organisation_id")
    if not organisation_id:
        return 90
    return g.api.get(f"/fleet-settings/{organisation_id}")["contract_reminder_days"]


def page_or_error(path, **params):
    """(page, None), or an empty page and the ApiError when the filters were refused (400),
    so the page shows the message beside the filters."""
    try:
        return g.api.get(path, **params), None
    except ApiError as failure:
        if failure.status != 400:
            raise
        return {"items": [], "next_cursor": None}, failure


def svg_chart(kind, title, labels, series) -> Markup:
    """A server-rendered SVG chart (no script; its <style> carries the page's nonce)."""
    chart = kind(width=640, height=300, show_legend=len(series) > 1, js=[], disable_xml_declaration=True,
                 x_label_rotation=30, title=None, print_values=False)
    chart.x_labels = labels
    for name, values in series:
        chart.add(name, values)
    svg = chart.render(is_unicode=True).replace("<style", f'<style nonce="{style_nonce()}"', 1)
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{title}" ', 1))


@blueprint.route("/")
@signed_in(*FLEET_ROLES)
def dashboard():
    narrowed = {"organisation_id": company()}
    days = lead_time_days()
    statuses, ending, overrun, deliveries, co2, fuel = (page["items"] for page in g.api.get_many(
        ("/reports/vehicles-by-status", narrowed),
        ("/reports/contracts-ending", {"days": days, "limit": 20, **narrowed}),
        ("/reports/km-overrun", {"limit": 200, **narrowed}),
        ("/deliveries", {"pending": "true", "limit": 20}),
        ("/reports/co2-by-cost-center", narrowed),
        ("/reports/fuel-by-month", narrowed)))
    overrun = [row for row in overrun if row.get("projected_overrun_km")]
    co2_chart = svg_chart(pygal.HorizontalBar, _("Average CO2 g/km by cost center"),
                          [row["cost_center"] or "–" for row in co2],
                          [(_("g/km"), [float(row["average_co2_g_per_km"] or 0) for row in co2])])
    fuel_chart = svg_chart(pygal.Bar, _("Fuel cost per month"), [row["month"] for row in fuel],
                           [(_("EUR"), [float(row["amount_eur"]) for row in fuel])])
    return render_template("fleet/dashboard.html", statuses=statuses, ending=ending, days=days,
                           overrun=overrun[:20], deliveries=deliveries, co2=co2, fuel=fuel,
                           co2_chart=co2_chart, fuel_chart=fuel_chart)


@blueprint.route("/vehicles")
@signed_in(*FLEET_ROLES)
def vehicles():
    filters = {"status": request.args.get("status"), "cost_center": request.args.get("cost_center"),
               "registration_number": request.args.get("q"), "user_organisation_id": company(),
               "cursor": request.args.get("cursor")}
    result, error = page_or_error("/vehicles", limit=LIST_LIMIT, **filters)
    template = "fleet/_vehicle_rows.html" if request.headers.get("HX-Request") else "fleet/vehicles.html"
    return render_template(template, vehicles=result["items"], next_cursor=result["next_cursor"], error=error)


@blueprint.route("/vehicles/<vehicle_id>")
@signed_in(*FLEET_ROLES)
def vehicle(vehicle_id):
    view = g.api.get(f"/vehicles/{vehicle_id}")
    odometer = g.api.get(f"/vehicles/{vehicle_id}/odometer", limit=50)["items"]
    service_events = g.api.get(f"/vehicles/{vehicle_id}/service-events", limit=50)["items"]
    fuelings = g.api.get(f"/vehicles/{vehicle_id}/fuelings", limit=50)["items"]
    return render_template("fleet/vehicle.html", vehicle=view, contract=view.get("contract"),
                           odometer=odometer, service_events=service_events, fuelings=fuelings)


@blueprint.route("/contracts")
@signed_in(*FLEET_ROLES)
def contracts():
    result = g.api.get("/contracts", limit=LIST_LIMIT, status=request.args.get("status"),
                       customer_id=company(), cursor=request.args.get("cursor"))
    return render_template("fleet/contracts.html", contracts=result["items"], next_cursor=result["next_cursor"])


@blueprint.route("/contracts/<contract_id>")
@signed_in(*FLEET_ROLES)
def contract(contract_id):
    return render_template("fleet/contract.html", contract=g.api.get(f"/contracts/{contract_id}"))


@blueprint.route("/deliveries")
@signed_in(*FLEET_ROLES)
def deliveries():
    result = g.api.get("/deliveries", limit=LIST_LIMIT, pending=request.args.get("pending"),
                       cursor=request.args.get("cursor"))
    return render_template("fleet/deliveries.html", deliveries=result["items"], next_cursor=result["next_cursor"])


@blueprint.route("/deliveries/<delivery_id>")
@signed_in(*FLEET_ROLES)
def delivery(delivery_id):
    found = g.api.get(f"/deliveries/{delivery_id}")
    dealership = g.api.get(f"/dealerships/{found['dealership_id']}") if found.get("dealership_id") else None
    return render_template("fleet/delivery.html", delivery=found, dealership=dealership)


@blueprint.route("/dealerships")
@signed_in(*FLEET_ROLES)
def dealerships():
    result = g.api.get("/dealerships", limit=LIST_LIMIT, cursor=request.args.get("cursor"))
    return render_template("fleet/dealerships.html", dealerships=result["items"], next_cursor=result["next_cursor"])


@blueprint.route("/dealerships/<dealership_id>")
@signed_in(*FLEET_ROLES)
def dealership(dealership_id):
    return render_template("fleet/dealership.html", dealership=g.api.get(f"/dealerships/{dealership_id}"))


@blueprint.route("/reports")
@signed_in(*FLEET_ROLES)
def reports():
    return render_template("fleet/reports.html", reports=REPORTS)


@blueprint.route("/reports/<name>")
@signed_in(*FLEET_ROLES)
def report(name):
    if name not in REPORTS:
        return render_template("errors/error.html", status=404, title=_("Page not found"),
                               message=_("The page does not exist or you may not see it.")), 404
    title, path = REPORTS[name]
    by_cost_center = name == "cost-per-km" and request.args.get("by") == "cost_center"
    path += "-by-cost-center" if by_cost_center else ""
    params = {key: request.args.get(key) for key in REPORT_PARAMS}
    params["organisation_id"] = company()
    if name == "contracts-ending" and not params["days"]:
        params["days"] = lead_time_days()
    if name in ("fuel", "cost-per-km") and not params["from"]:
        today = dt.date.today()
        params["from"], params["to"] = f"{today.year - 1}-{today.month:02d}", f"{today:%Y-%m}"
    if request.args.get("format") == "csv":
        return _csv(path, name, params)
    result, error = page_or_error(path, limit=100, **params)
    return render_template(f"fleet/report_{name.replace('-', '_')}.html", title=_(title), name=name,
                           rows=result["items"], next_cursor=result["next_cursor"], params=params, error=error,
                           by_cost_center=by_cost_center)


def _csv(path, name, params):
    """The API's CSV (every page), passed through as a download."""
    params = {key: value for key, value in params.items() if value and key != "cursor"}
    response = g.api.raw("GET", path, params=params, headers={"Accept": "text/csv"})
    if response.status_code >= 400:
        raise error_of(response)
    return Response(response.content, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@blueprint.route("/users")
@signed_in("fleet_manager")
def users():
    result = g.api.get("/users", limit=LIST_LIMIT, cursor=request.args.get("cursor"))
    return render_template("fleet/users.html", users=result["items"], next_cursor=result["next_cursor"])


@blueprint.route("/users/<account_id>/active", methods=["POST"])
@signed_in("fleet_manager")
def set_user_active(account_id):
    active = request.form.get("active") == "true"
    try:
        g.api.patch(f"/users/{account_id}", {"active": active})
        flash(_("Account reactivated.") if active else _("Account deactivated."), "success")
    except ApiError as failure:
        if failure.status not in (400, 409):
            raise
        flash(failure.message, "error")
    return redirect(url_for("fleet.users"))


@blueprint.route("/settings", methods=["GET", "POST"])
@signed_in(*FLEET_ROLES)
def settings():
    organisation_id = company() or session.get("organisation_id")
    if not organisation_id:
        return redirect(url_for("fleet.dashboard"))
    form = SettingsForm()
    path = f"/fleet-settings/{organisation_id}"
    done, errors = submit(form, g.api.put, path, lambda _: url_for("fleet.settings", organisation_id=company()),
                          values=g.api.get(path) if request.method == "GET" else None, saved=_("Settings saved."))
    if done:
        return done
    return render_template("fleet/settings.html", form=form, errors=errors)
