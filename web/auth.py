"""Sign in and out. Login posts the credentials to the API's /auth/token and keeps the
token, encrypted, in the session; each role lands on its own home (SPEC §6)."""
import functools

import jwt
from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from web import session_token
from web.api import Api, ApiError

blueprint = Blueprint("auth", __name__)
HOMES = {"staff": "/office/", "fleet_manager": "/fleet/", "driver": "/driver/"}


class LoginForm(FlaskForm):
    username = StringField(lazy_gettext("Username"), validators=[DataRequired(), Length(max=150)],
                           render_kw={"autocomplete": "username"})
    password = PasswordField(lazy_gettext("Password"), validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})


def signed_in(*roles):
    """The view needs a session of one of `roles`; without one, the login page and back.
    Another role gets the 404 page, as the API answers for what is out of scope."""
    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not session.get("token"):
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if roles and session.get("role") not in roles:
                abort(404)
            return view(*args, **kwargs)
        return wrapper
    return decorate


def _safe_next(target) -> str | None:
    """Only a path of this site (no scheme, no host) is a redirect target."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@blueprint.route("/")
def index():
    return redirect(HOMES.get(session.get("role"), url_for("auth.login")))


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            answer = g.api.post("/auth/token", {"username": form.username.data, "password": form.password.data})
        except ApiError as failure:
            error = _login_error(failure)
        else:
            # the gateway just issued it: read who it names (the API checks it on every call)
            claims = jwt.decode(answer["access_token"], options={"verify_signature": False})
            me = (Api(g.api.base_url, answer["access_token"], g.api.headers, g.api.http).get(f"/users/{claims['sub']}")
                  if claims["role"] in ("staff", "fleet_manager") else {})
            session_token.store(answer["access_token"], role=claims["role"], username=form.username.data,
                                account_id=claims["sub"], organisation_id=me.get("organisation_id"),
                                scope=me.get("scope"))
            return redirect(_safe_next(request.args.get("next")) or HOMES.get(claims["role"], "/"))
    status = 200 if error is None else 401
    return render_template("login.html", form=form, error=error), status


def _login_error(failure: ApiError) -> str:
    if failure.status == 429:
        wait = (failure.details or {}).get("retry_after")
        minutes = max(1, -(-int(wait) // 60)) if wait else None
        if failure.code == "account_locked":
            return (_("Too many failed logins. The account is locked; try again in %(minutes)s min.",
                      minutes=minutes) if minutes else _("Too many failed logins. Try again later."))
        return _("Too many attempts. Try again in a moment.")
    if failure.status in (400, 401):
        return _("Wrong username or password.")
    raise failure


@blueprint.route("/logout", methods=["POST"])
def logout():
    session.clear()
    return redirect(url_for("auth.login"))
