import datetime as dt
import hashlib
import json
import re
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Response, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import DateField, DateTimeLocalField, HiddenField, IntegerField, SelectField, StringField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from web import i18n
from web.api import ApiError, error_of
from web.auth import signed_in
from web.driver import blueprint

ZONE = ZoneInfo("Europe/Helsinki")  # when the phone did not send its own UTC offset
OFFSET_RE = re.compile(r"^[+-](0\d|1[0-4]):[0-5]\d$")
LOCATION_INTERVAL_S = 60
CONSENT_TEXT_VERSION = "driver-app-2026-11"
PURPOSES = (("location_tracking", lazy_gettext("Location tracking"),
             lazy_gettext("While the app is open, it sends your phone's location to Secto. Withdrawing "
                          "deletes the stored locations.")),
            ("email_marketing", lazy_gettext("Email marketing"), lazy_gettext("Offers and news by email.")),
            ("sms_marketing", lazy_gettext("SMS marketing"), lazy_gettext("Offers and news by text message.")),
            ("phone_marketing", lazy_gettext("Phone marketing"), lazy_gettext("Offers and news by phone.")))


def _json_wanted() -> bool:
    return request.accept_mimetypes.best == "application/json"


# --- home ---------------------------------------------------------------------------

@blueprint.route("/")
@signed_in("driver")
def home():
    return render_template("driver/home.html", me=g.api.get("/me"))


# --- driving log --------------------------------------------------------------------

class TripForm(FlaskForm):
    date = DateField(lazy_gettext("Date"), validators=[DataRequired()])
    start_time = TimeField(lazy_gettext("Start time"), validators=[DataRequired()])
    end_time = TimeField(lazy_gettext("End time"), validators=[DataRequired()])
    odometer_start = IntegerField(lazy_gettext("Odometer at start"),
                                  validators=[InputRequired(), NumberRange(0, 9_999_999)],
                                  render_kw={"inputmode": "numeric"})
    odometer_end = IntegerField(lazy_gettext("Odometer at end"), validators=[InputRequired(), NumberRange(0, 9_999_999)],
                                render_kw={"inputmode": "numeric"})
    trip_type = SelectField(lazy_gettext("Type"), choices=[("work", lazy_gettext("work")),
                                                           ("private", lazy_gettext("private"))])
    start_point = StringField(lazy_gettext("From"), validators=[DataRequired(), Length(max=200)])
    end_point = StringField(lazy_gettext("To"), validators=[DataRequired(), Length(max=200)])
    purpose = StringField(lazy_gettext("Purpose"), validators=[Optional(), Length(max=500)])
    gap_explanation = StringField(lazy_gettext("Explanation of an odometer gap"),
                                  validators=[Optional(), Length(max=500)])
    client_id = HiddenField()
    utc_offset = HiddenField()


def trip_payload(form: TripForm) -> dict:
    """The API's trip from the form: local times with the phone's UTC offset (else
    Helsinki time); an end time before the start time is on the next day."""
    def moment(day, time):
        naive = dt.datetime.combine(day, time)
        offset = form.utc_offset.data or ""
        if OFFSET_RE.match(offset):
            return dt.datetime.fromisoformat(naive.isoformat() + offset)
        return naive.replace(tzinfo=ZONE)
    started = moment(form.date.data, form.start_time.data)
    ended = moment(form.date.data, form.end_time.data)
    if ended < started:
        ended = moment(form.date.data + dt.timedelta(days=1), form.end_time.data)
    try:
        client_id = str(uuid.UUID(form.client_id.data or ""))
    except ValueError:
        client_id = str(uuid.uuid4())
    return {"client_id": client_id, "started_at": started.isoformat(), "ended_at": ended.isoformat(),
            "odometer_start": form.odometer_start.data, "odometer_end": form.odometer_end.data,
            "trip_type": form.trip_type.data, "start_point": form.start_point.data,
            "end_point": form.end_point.data, "purpose": form.purpose.data or None,
            "gap_explanation": form.gap_explanation.data or None}


def _year() -> int:
    try:
        year = int(request.args.get("year", ""))
    except ValueError:
        year = dt.datetime.now(ZONE).year
    return min(max(year, 1990), 2100)


def _trips_page(form, year, api_errors=None, message=None, status=200):
    form.client_id.data = str(uuid.uuid4())
    trips = g.api.all_items("/me/trips", year=year)
    summary = g.api.get("/me/trips/summary", year=year)
    this_year = dt.datetime.now(ZONE).year
    return render_template("driver/trips.html", form=form, trips=trips, summary=summary, year=year,
                           years=range(this_year, this_year - 4, -1), api_errors=api_errors or {},
                           message=message), status


@blueprint.route("/trips")
@signed_in("driver")
def trips():
    form = TripForm(formdata=None, date=dt.datetime.now(ZONE).date(), trip_type="work")
    last = g.api.get("/me/trips/summary", year=_year())["last_odometer"]
    form.odometer_start.data = last
    return _trips_page(form, _year())


@blueprint.route("/trips", methods=["POST"])
@signed_in("driver")
def add_trip():
    form = TripForm()
    if not form.validate():
        if _json_wanted():
            return jsonify(message=_("Check the fields."), details=form.errors), 400
        return _trips_page(form, _year(), status=400)
    payload = trip_payload(form)
    try:
        trip = g.api.post("/me/trips", payload)
    except ApiError as error:
        if error.status not in (400, 409):
            raise
        if _json_wanted():
            return jsonify(message=error.message, error=error.code, details=error.details), error.status
        return _trips_page(form, form.date.data.year, api_errors=error.field_errors,
                           message=error.message, status=error.status)
    year = int(trip["date"][:4])
    flash(_("Trip saved."), "success")
    if _json_wanted():
        return jsonify(trip=trip, next=url_for(".trips", year=year)), 201
    return redirect(url_for(".trips", year=year))


@blueprint.route("/trips/export")
@signed_in("driver")
def export_trips():
    kind = request.args.get("format", "pdf")
    response = g.api.raw("GET", "/me/trips/export", params={"year": _year(), "format": kind})
    if response.status_code >= 400:
        raise error_of(response)
    return Response(response.content, mimetype=response.headers.get("Content-Type"),
                    headers={"Content-Disposition": response.headers.get("Content-Disposition", "attachment")})


# --- fuelings, washes, tires ----------------------------------------------------------

@blueprint.route("/fuelings")
@signed_in("driver")
def fuelings():
    page = g.api.get("/me/fuelings", limit=50, cursor=request.args.get("cursor"))
    return render_template("driver/fuelings.html", page=page)


class WashForm(FlaskForm):
    wash_at = DateTimeLocalField(lazy_gettext("Time"), validators=[DataRequired()], format="%Y-%m-%dT%H:%M")
    wash = SelectField(lazy_gettext("Wash"), choices=[("Basic", lazy_gettext("Basic wash")),
                                                     ("Premium", lazy_gettext("Premium wash"))])
    place = StringField(lazy_gettext("Place"), validators=[DataRequired(), Length(max=200)])


def _washes_page(form, api_errors=None, message=None, status=200):
    bookings = g.api.all_items("/me/washes")
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    return render_template("driver/washes.html", form=form, bookings=bookings, now=now,
                           api_errors=api_errors or {}, message=message), status


@blueprint.route("/washes")
@signed_in("driver")
def washes():
    return _washes_page(WashForm(formdata=None))


@blueprint.route("/washes", methods=["POST"])
@signed_in("driver")
def book_wash():
    form = WashForm()
    if not form.validate():
        return _washes_page(form, status=400)
    try:
        g.api.post("/me/washes", {"wash_at": form.wash_at.data.replace(tzinfo=ZONE).isoformat(),
                                  "wash": form.wash.data, "place": form.place.data})
    except ApiError as error:
        if error.status not in (400, 409):
            raise
        return _washes_page(form, api_errors=error.field_errors, message=error.message, status=error.status)
    flash(_("Wash booked."), "success")
    return redirect(url_for(".washes"))


@blueprint.route("/washes/<booking_id>/cancel", methods=["POST"])
@signed_in("driver")
def cancel_wash(booking_id):
    try:
        g.api.delete(f"/me/washes/{booking_id}")
    except ApiError as error:
        if error.status != 409:
            raise
        flash(error.message, "error")
    else:
        flash(_("Wash booking cancelled."), "success")
    return redirect(url_for(".washes"))


@blueprint.route("/tires")
@signed_in("driver")
def tires():
    try:
        storage = g.api.get("/me/tire-storage")
    except ApiError as error:
        if error.status != 409:
            raise
        storage = None
    return render_template("driver/tires.html", storage=storage)


# --- location and privacy -------------------------------------------------------------

@blueprint.route("/location", methods=["POST"])
@signed_in("driver")
def location():
    try:
        ping = g.api.post("/me/location", {"lat": request.form.get("lat", type=float),
                                           "lon": request.form.get("lon", type=float),
                                           "at": request.form.get("at")})
    except ApiError as error:
        if error.status not in (400, 409):
            raise
        return jsonify(error=error.code, message=error.message), error.status
    return jsonify(ping), 201


def consent_statuses() -> dict:
    return {c["purpose"]: c["status"] for c in g.api.get("/me/consents")["consents"]}


@blueprint.route("/privacy")
@signed_in("driver")
def privacy():
    return render_template("driver/privacy.html", statuses=consent_statuses(), purposes=PURPOSES,
                           text_version=CONSENT_TEXT_VERSION)


@blueprint.route("/privacy", methods=["POST"])
@signed_in("driver")
def set_consent():
    purpose = request.form.get("purpose")
    if purpose not in dict((p, label) for p, label, _text in PURPOSES):
        return render_template("driver/privacy.html", statuses=consent_statuses(), purposes=PURPOSES,
                               text_version=CONSENT_TEXT_VERSION), 400
    status = "granted" if request.form.get("granted") else "withdrawn"
    g.api.put(f"/me/consents/{purpose}", {"status": status, "source": "driver_app",
                                          "text_version": CONSENT_TEXT_VERSION})
    if purpose == "location_tracking" and status == "withdrawn":
        flash(_("Location tracking is off. Your stored locations were deleted."), "success")
    else:
        flash(_("Your choice was saved."), "success")
    return redirect(url_for(".privacy"))


@blueprint.route("/privacy/export")
@signed_in("driver")
def export_my_data():
    data = g.api.get("/me/export")
    return Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="secto-my-data.json"'})


# --- the installable app: manifest, service worker, offline page ----------------------

@blueprint.route("/manifest.webmanifest")
def manifest():
    body = {"name": "Secto Driver Assistant", "short_name": "Secto", "lang": "fi",
            "start_url": "/driver/", "scope": "/driver/", "display": "standalone",
            "background_color": "#ffffff", "theme_color": "#0b4f8a",
            "icons": [{"src": url_for("static", filename=f"driver/icon-{size}.png"), "sizes": f"{size}x{size}",
                       "type": "image/png", "purpose": "any"} for size in (192, 512)]}
    return Response(json.dumps(body), mimetype="application/manifest+json")


SHELL = ("app.css", "driver.js", "htmx-2.0.8.min.js", "driver/icon-192.png", "driver/icon-512.png")


@blueprint.route("/sw.js")
def service_worker():
    shell = [url_for("static", filename=name) for name in SHELL] + [url_for(".offline")]
    body = render_template("driver/sw.js", shell=shell, offline_url=url_for(".offline"),
                           version=blueprint.static_version)
    return Response(body, mimetype="text/javascript",
                    headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/driver/"})


@blueprint.route("/offline")
def offline():
    return render_template("driver/offline.html")


def _static_version() -> str:
    """Changes whenever a cached file changes, so a new service worker replaces the old cache."""
    static = Path(__file__).parent.parent / "static"
    digest = hashlib.sha256()
    for name in SHELL:
        digest.update((static / name).read_bytes())
    digest.update((Path(__file__).parent.parent / "templates" / "driver" / "sw.js").read_bytes())
    return digest.hexdigest()[:12]


blueprint.static_version = _static_version()


@blueprint.context_processor
def app_settings():
    """What driver.js needs on every page: whether location tracking is granted (only then
    does it ask the browser for the position) and the ping interval."""
    tracking = None
    if session.get("role") == "driver" and request.endpoint not in ("driver.offline", "driver.service_worker"):
        try:
            tracking = consent_statuses().get("location_tracking")
        except ApiError:
            tracking = None
    return {"location_tracking": tracking or "none", "location_interval": LOCATION_INTERVAL_S}


@blueprint.app_template_filter("local_datetime")
def local_datetime(value):
    """An API time (UTC or any offset) as Finnish local time, in the language's format."""
    if not value:
        return "–"
    moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return i18n.datetime(moment.astimezone(ZONE) if moment.tzinfo else moment)
