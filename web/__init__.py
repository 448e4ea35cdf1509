"""The web app (SPEC §6): server-rendered screens for fleet managers, drivers and staff.

A client of the gateway's API only: every call carries the signed-in user's own token,
so every scope rule holds here because the API enforces it. It imports no service code
and never talks to the broker or a database.
"""
import secrets

from flask import Flask

from shared import config
from web import api, errors, i18n, security
from web.auth import blueprint as auth_blueprint
from web.driver import blueprint as driver_blueprint
from web.fleet import blueprint as fleet_blueprint
from web.office import blueprint as office_blueprint


def create_app(overrides=None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.env("WEB_SECRET_KEY") or secrets.token_urlsafe(32),
        GATEWAY_URL=config.env("GATEWAY_URL", f"http://127.0.0.1:{config.env('GATEWAY_PORT', '8000')}/api/v1"),
        SESSION_COOKIE_NAME="secto_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=security.secure_cookies(),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        MAX_CONTENT_LENGTH=11 * 1024 * 1024,
    )
    app.config.update(overrides or {})
    security.init_app(app)
    i18n.init_app(app)
    api.init_app(app)
    errors.init_app(app)
    app.register_blueprint(auth_blueprint)
    app.register_blueprint(fleet_blueprint, url_prefix="/fleet")
    app.register_blueprint(office_blueprint, url_prefix="/office")
    app.register_blueprint(driver_blueprint, url_prefix="/driver")
    return app
