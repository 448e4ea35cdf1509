"""CSRF on every POST, security headers on every answer, and cookie flags."""
import secrets

from flask import g
from flask_wtf.csrf import CSRFProtect

from shared import config

csrf = CSRFProtect()
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def secure_cookies() -> bool:
    """`Secure` cookies unless the app only listens on loopback (plain http in development)."""
    forced = config.env("WEB_SECURE_COOKIES")
    if forced is not None:
        return forced.lower() in ("1", "true", "yes")
    return config.env("WEB_HOST", "127.0.0.1") not in LOOPBACK


def style_nonce() -> str:
    """Per-response nonce for the <style> that server-rendered SVG charts carry."""
    if "style_nonce" not in g:
        g.style_nonce = secrets.token_urlsafe(16)
    return g.style_nonce


def init_app(app):
    csrf.init_app(app)
    app.jinja_env.globals["style_nonce"] = style_nonce

    @app.after_request
    def headers(response):
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; "
            f"style-src 'self' 'nonce-{style_nonce()}'; img-src 'self' data:; "
            "connect-src 'self'; manifest-src 'self'; worker-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers.setdefault("Cache-Control", "no-store")
        return response
