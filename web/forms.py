"""The one form flow of the web app: a form's fields are the API body's fields, a valid POST
goes to the API, and the API's 400 messages stand next to the fields they are about."""
import re

from flask import flash, redirect, request

from web.api import ApiError

LIST_FIELDS = ("services", "add_on_services", "contract_types")
# whole numbers in the API's bodies (a text that is not one goes as it is: the API's message
# then stands next to the field)
INTEGER_FIELDS = ("payment_terms_days", "co2_g_per_km", "length_months", "included_km", "start_km", "km",
                  "contract_reminder_days")


def body_of(form) -> dict:
    """The form's filled-in fields as an API body (empty fields are left out)."""
    body = {}
    for field in form:
        name = field.short_name
        if name == "csrf_token" or field.type in ("FileField", "SubmitField"):
            continue
        value = field.data.strip() if isinstance(field.data, str) else field.data
        if name in LIST_FIELDS:
            value = [item.strip() for item in (value or "").split(",") if item.strip()]
        if value in ("", None):
            continue
        if name in INTEGER_FIELDS and re.fullmatch(r"-?\d+", value):
            value = int(value)
        body[name] = value
    return body


def fill(form, obj: dict):
    """Put an API object's values into an unsubmitted form."""
    for field in form:
        value = obj.get(field.short_name)
        if isinstance(value, list):
            value = ", ".join(value)
        if value is not None and field.short_name != "csrf_token":
            field.data = value if field.type == "BooleanField" else str(value)
    return form


def attempt(call, *args, **kwargs):
    """Call the API for a form: (result, field errors). 400 → the field messages; 409 →
    a flashed message; anything else goes to the error pages."""
    try:
        return call(*args, **kwargs), {}
    except ApiError as error:
        if error.status == 400:
            details = error.field_errors
            if not details or set(details) - {"_schema"} == set():
                flash(error.message + (": " + " ".join(map(str, details.get("_schema", []))) if details else ""),
                      "error")
            return None, {name: messages if isinstance(messages, list) else [str(messages)]
                          for name, messages in details.items()}
        if error.status in (409, 413, 415):
            flash(error.message, "error")
            return None, {}
        raise


def submit(form, call, path, done, values=None, saved=None):
    """The one form flow: a valid POST goes to the API (`call(path, body)`), then to
    `done(result)` with the flashed `saved` message; a GET shows `values`. Returns
    (redirect or None, field errors)."""
    errors = {}
    if form.validate_on_submit():
        result, errors = attempt(call, path, body_of(form))
        if result is not None:
            if saved:
                flash(saved, "success")
            return redirect(done(result)), errors
    elif request.method == "GET" and values is not None:
        fill(form, values)
    return None, errors
