"""Finnish by default, English with ?lang=en (remembered in a cookie) or an English
Accept-Language; money and dates in the language's format (SPEC §6)."""
import datetime as dt
import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import request
from flask_babel import Babel, format_currency, format_decimal, get_locale, gettext, lazy_gettext

LANGUAGES = ("fi", "en")
LANG_COOKIE = "lang"
SOURCE = Path(__file__).parent / "translations"


def select_locale() -> str:
    wanted = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
    if wanted in LANGUAGES:
        return wanted
    return request.accept_languages.best_match(LANGUAGES, default="fi") if request.accept_languages else "fi"


def compile_translations() -> str:
    """The .po files compiled at start into a process-private directory (no build step,
    nothing generated in the repository)."""
    target = Path(tempfile.mkdtemp(prefix="secto-web-i18n-"))
    for po_path in SOURCE.glob("*/LC_MESSAGES/messages.po"):
        mo_path = target / po_path.relative_to(SOURCE).with_suffix(".mo")
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with po_path.open("rb") as po_file, mo_path.open("wb") as mo_file:
            write_mo(mo_file, read_po(po_file))
    return str(target)


def money(value, currency="EUR") -> str:
    if value in (None, ""):
        return "–"
    try:
        return format_currency(Decimal(str(value)), currency)
    except (InvalidOperation, ValueError):
        return str(value)


def number(value, digits=0) -> str:
    if value in (None, ""):
        return "–"
    return format_decimal(value, format="#,##0" + ("." + "0" * digits if digits else ""))


def _as_date(value):
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return value


def date(value) -> str:
    moment = _as_date(value)
    if moment is None:
        return value or "–"
    day = moment.date() if isinstance(moment, dt.datetime) else moment
    return f"{day.day}.{day.month}.{day.year}" if str(get_locale()) == "fi" else day.isoformat()


def datetime(value) -> str:
    moment = _as_date(value)
    if not isinstance(moment, dt.datetime):
        return date(value)
    return f"{date(moment)} {moment:%H:%M}"


# the API's enum values as people read them
LABELS = {
    "ordered": lazy_gettext("Ordered"), "awaiting_delivery": lazy_gettext("Awaiting delivery"),
    "in_use": lazy_gettext("In use"), "returned": lazy_gettext("Returned"), "sold": lazy_gettext("Sold"),
    "active": lazy_gettext("Active"), "ended": lazy_gettext("Ended"), "terminated": lazy_gettext("Terminated"),
    "passenger_car": lazy_gettext("Passenger car"), "van": lazy_gettext("Van"), "truck": lazy_gettext("Truck"),
    "bus": lazy_gettext("Bus"), "trailer": lazy_gettext("Trailer"), "motorcycle": lazy_gettext("Motorcycle"),
    "other": lazy_gettext("Other"), "petrol": lazy_gettext("Petrol"), "diesel": lazy_gettext("Diesel"),
    "electric": lazy_gettext("Electric"), "hybrid": lazy_gettext("Hybrid"),
    "plugin_hybrid": lazy_gettext("Plug-in hybrid"), "gas": lazy_gettext("Gas"),
    "service_invoice": lazy_gettext("Service invoice"), "customer": lazy_gettext("Customer"),
    "driver_log": lazy_gettext("Driving log"), "fueling": lazy_gettext("Fueling"),
    "maintenance": lazy_gettext("Maintenance"), "wash": lazy_gettext("Wash"),
    "work": lazy_gettext("Work"), "private": lazy_gettext("Private"),
    "staff": lazy_gettext("Staff"), "fleet_manager": lazy_gettext("Fleet manager"), "driver": lazy_gettext("Driver"),
    "company": lazy_gettext("Company"), "group": lazy_gettext("Group"),
    "celebration_wash": lazy_gettext("Celebration wash"), "tire_storage": lazy_gettext("Tire storage"),
}


def label(value) -> str:
    """An API value (`awaiting_delivery`) as words in the page's language."""
    if value in (None, ""):
        return "–"
    return str(LABELS[value]) if value in LABELS else gettext(str(value).replace("_", " "))


def yes_no(value) -> str:
    return "–" if value is None else str(lazy_gettext("Yes") if value else lazy_gettext("No"))


def init_app(app):
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = compile_translations()
    Babel(app, locale_selector=select_locale)
    app.jinja_env.filters.update(money=money, number=number, date=date, datetime=datetime, label=label,
                                   yes_no=yes_no)
    app.jinja_env.globals["current_language"] = lambda: str(get_locale())

    @app.after_request
    def remember_language(response):
        wanted = request.args.get("lang")
        if wanted in LANGUAGES and request.cookies.get(LANG_COOKIE) != wanted:
            response.set_cookie(LANG_COOKIE, wanted, max_age=365 * 86400, samesite="Lax", httponly=True,
                                secure=app.config["SESSION_COOKIE_SECURE"])
        return response
