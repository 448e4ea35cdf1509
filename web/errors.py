"""API errors as pages: 401 → the login page and back, 404 → the 404 page, 503 → a
notice naming the service, anything else → its readable message. Never a traceback."""
from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from shared.logging import get_logger
from web.api import ApiError

log = get_logger("web.errors")


def error_page(status, title, message, service=None):
    return render_template("errors/error.html", status=status, title=title, message=message,
                           service=service), status


def handle_api_error(error: ApiError):
    if error.status == 401:
        session.clear()
        target = request.full_path.rstrip("?") if request.method == "GET" else request.referrer
        return redirect(url_for("auth.login", next=target))
    if error.status == 404:
        return not_found()
    if error.status == 503:
        service = (error.details or {}).get("service") or _("a service")
        return error_page(503, _("Service unavailable"),
                          _("The %(service)s service did not answer. Try again in a moment.", service=service),
                          service)
    if error.status == 429:
        return error_page(429, _("Too many requests"), _("Too many requests. Try again in a moment."))
    return error_page(error.status, _("Something went wrong"), error.message)


def not_found(_error=None):
    return error_page(404, _("Page not found"), _("The page does not exist or you may not see it."))


def init_app(app):
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(404, not_found)

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        return error_page(400, _("The form expired"), _("Reload the page and send the form again."))

    @app.errorhandler(HTTPException)
    def http_error(error):
        return error_page(error.code, error.name, error.description)

    @app.errorhandler(Exception)
    def unexpected(error):
        log.exception("web.unhandled", path=request.path)
        return error_page(500, _("Something went wrong"), _("An unexpected error. It has been logged."))
