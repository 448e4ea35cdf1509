"""Search, person 360°, organisation, accounts, consents, export and erasure."""
import json

from flask import Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from web.forms import attempt, body_of, submit
from web.office import blueprint, optional
from web.office.forms import (AccountForm, ConsentForm, CustomerForm, NationalIdForm, NewOrganisationForm,
                              NewPersonForm, OrganisationForm, PasswordResetForm, PersonForm, SearchForm)

ACCESS_LOG_SHOWN = 50


@blueprint.route("/")
def search():
    form = SearchForm(request.args)
    persons = organisations = None
    if form.q.data or form.customer_status.data:
        filters = {"q": form.q.data, "customer_status": form.customer_status.data, "limit": 50}
        persons = g.api.get("/persons", **filters)["items"]
        organisations = g.api.get("/organisations", **filters)["items"]
    return render_template("office/search.html", form=form, lookup=NationalIdForm(), persons=persons,
                           organisations=organisations)


@blueprint.route("/persons/lookup", methods=["POST"])
def lookup():
    """The henkilötunnus travels only in this POST body and the API's POST body."""
    lookup_form = NationalIdForm()
    found, errors = None, {}
    if lookup_form.validate_on_submit():
        found, errors = attempt(g.api.post, "/persons/search", {"national_id": lookup_form.national_id.data.strip()})
        items = (found or {}).get("items", [found] if found and "id" in found else [])
        if len(items) == 1:
            return redirect(url_for("office.person", person_id=items[0]["id"]))
        if found is not None:
            flash(_("No person has this national identity number."), "warning")
    lookup_form.national_id.data = ""  # never echoed back into the page
    return render_template("office/search.html", form=SearchForm(), lookup=lookup_form, lookup_errors=errors,
                           persons=None, organisations=None), 200 if not errors else 400


@blueprint.route("/persons/new", methods=["GET", "POST"])
def new_person():
    form = NewPersonForm()
    done, errors = submit(form, g.api.post, "/persons", lambda person: url_for("office.person", person_id=person["id"]))
    form.national_id.data = ""  # never echoed back into the page
    return done or (render_template("office/form.html", form=form, title=_("New person"), errors=errors,
                                    back=url_for("office.search")), 400 if errors else 200)


@blueprint.route("/organisations/new", methods=["GET", "POST"])
def new_organisation():
    form = NewOrganisationForm()
    done, errors = submit(form, g.api.post, "/organisations",
                          lambda organisation: url_for("office.organisation", organisation_id=organisation["id"]))
    return done or (render_template("office/form.html", form=form, title=_("New organisation"), errors=errors,
                                    back=url_for("office.search")), 400 if errors else 200)


@blueprint.route("/parties/<uuid:party_id>/customers", methods=["POST"])
def new_customer(party_id):
    """Open a customer relationship (prospect or customer) for a person or an organisation."""
    party_type = request.form.get("party_type") if request.form.get("party_type") in ("person", "organisation") \
        else "person"
    form = CustomerForm()
    if form.validate_on_submit():
        body = {**body_of(form), "party_type": party_type, "party_id": str(party_id)}
        _created, errors = attempt(g.api.post, "/customers", body)
        for name, messages in errors.items():
            flash(f"{name}: {' '.join(messages)}", "error")
    return redirect(url_for("office.party", party_id=party_id))


# --- person 360° ----------------------------------------------------------------------------

@blueprint.route("/persons/<uuid:person_id>", methods=["GET", "POST"])
def person(person_id):
    person_id = str(person_id)
    person = g.api.get(f"/persons/{person_id}")
    form = PersonForm()
    done, errors = submit(form, g.api.patch, f"/persons/{person_id}", lambda _r: request.path, person, _("Saved."))
    if done:
        return done
    return render_template("office/person.html", person=person, form=form, errors=errors,
                           **_person_sections(person_id)), 400 if errors else 200


def _person_sections(person_id) -> dict:
    relationships = g.api.get("/customers", party_id=person_id, limit=50)["items"]
    access = g.api.all_items(f"/persons/{person_id}/access-log", most=1000)
    return {
        "roles": g.api.get(f"/persons/{person_id}/roles")["items"],
        "relationships": [{**r, "history": g.api.get(f"/customers/{r['id']}/history")} for r in relationships],
        "accounts": g.api.get("/users", person_id=person_id, limit=50)["items"],
        "consents": g.api.get(f"/consents/{person_id}"),
        "vehicles": g.api.get("/vehicles", driver_person_id=person_id, limit=50)["items"],
        "invoices": g.api.get("/invoices", customer_id=person_id, limit=50)["items"],
        "kyc_cases": g.api.get("/kyc/cases", customer_id=person_id, limit=50)["items"],
        "access_log": list(reversed(access))[:ACCESS_LOG_SHOWN],
        "account_form": AccountForm(formdata=None), "reset_form": PasswordResetForm(formdata=None),
        "consent_form": ConsentForm(formdata=None), "customer_form": CustomerForm(formdata=None),
    }


@blueprint.route("/persons/<uuid:person_id>/accounts", methods=["POST"])
def create_account(person_id):
    form = AccountForm()
    if form.validate_on_submit():
        body = {**body_of(form), "person_id": str(person_id)}
        created, errors = attempt(g.api.post, "/users", body)
        if created:
            flash(_("Account %(username)s created.", username=created["username"]), "success")
        for field, messages in errors.items():
            flash(f"{field}: {' '.join(messages)}", "error")
    return redirect(url_for("office.person", person_id=person_id, _anchor="accounts"))


@blueprint.route("/accounts/<uuid:account_id>/active", methods=["POST"])
def set_account_active(account_id):
    active = request.form.get("active") == "true"
    account = g.api.patch(f"/users/{account_id}", {"active": active})
    flash(_("Account reactivated.") if active else _("Account deactivated."), "success")
    return redirect(_account_home(account))


@blueprint.route("/accounts/<uuid:account_id>/password", methods=["POST"])
def reset_password(account_id):
    form = PasswordResetForm()
    account = g.api.get(f"/users/{account_id}")
    if form.validate_on_submit():
        done, errors = attempt(g.api.patch, f"/users/{account_id}", {"password": form.password.data or ""})
        if done:
            flash(_("Password reset; the account's sessions have ended."), "success")
        for messages in errors.values():
            flash(_("Password not reset: %(reason)s", reason=" ".join(messages)), "error")
    return redirect(_account_home(account))


def _account_home(account) -> str:
    if account.get("person_id"):
        return url_for("office.person", person_id=account["person_id"], _anchor="accounts")
    if account.get("organisation_id"):
        return url_for("office.organisation", organisation_id=account["organisation_id"])
    return url_for("office.search")


@blueprint.route("/persons/<uuid:person_id>/consents", methods=["POST"])
def set_consent(person_id):
    form = ConsentForm()
    if form.validate_on_submit():
        body = body_of(form)
        purpose = body.pop("purpose")
        done, errors = attempt(g.api.put, f"/consents/{person_id}/{purpose}", body)
        if done:
            flash(_("Consent recorded."), "success")
        for field, messages in errors.items():
            flash(f"{field}: {' '.join(messages)}", "error")
    return redirect(url_for("office.person", person_id=person_id, _anchor="consents"))


@blueprint.route("/customers/<uuid:customer_id>/status", methods=["POST"])
def move_customer(customer_id):
    relationship, _errors = attempt(g.api.patch, f"/customers/{customer_id}", {"status": request.form.get("status")})
    relationship = relationship or g.api.get(f"/customers/{customer_id}")
    endpoint = "office.person" if relationship["party_type"] == "person" else "office.organisation"
    key = "person_id" if relationship["party_type"] == "person" else "organisation_id"
    return redirect(url_for(endpoint, **{key: relationship["party_id"]}))


# --- data-protection requests ---------------------------------------------------------------

@blueprint.route("/persons/<uuid:person_id>/export")
def export(person_id):
    document = g.api.get(f"/persons/{person_id}/export")
    return Response(json.dumps(document, ensure_ascii=False, indent=2), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="person-{person_id}.json"'})


@blueprint.route("/persons/<uuid:person_id>/erase", methods=["GET", "POST"])
def erase(person_id):
    person = g.api.get(f"/persons/{person_id}")
    if request.method == "POST":  # CSRF-checked; the confirmation page is the only way here
        if request.form.get("confirm") != "yes":
            flash(_("Tick the confirmation to erase."), "error")
            return redirect(url_for("office.erase", person_id=person_id))
        report = g.api.post(f"/persons/{person_id}/erase")
        return render_template("office/erase.html", person=person, report=report, done=True)
    preview = g.api.get(f"/persons/{person_id}/erase-preview")
    return render_template("office/erase.html", person=person, report=preview, done=False)


# --- organisation ---------------------------------------------------------------------------

@blueprint.route("/organisations/<uuid:organisation_id>", methods=["GET", "POST"])
def organisation(organisation_id):
    organisation_id = str(organisation_id)
    organisation = g.api.get(f"/organisations/{organisation_id}")
    form = OrganisationForm()
    done, errors = submit(form, g.api.patch, f"/organisations/{organisation_id}", lambda _r: request.path,
                          organisation, _("Saved."))
    if done:
        return done
    ancestors, parent_id = [], organisation.get("parent_id")
    while parent_id and len(ancestors) < 20:
        parent = g.api.get(f"/organisations/{parent_id}")
        ancestors.insert(0, parent)
        parent_id = parent.get("parent_id")
    return render_template(
        "office/organisation.html", organisation=organisation, form=form, errors=errors, ancestors=ancestors,
        children=g.api.get("/organisations", parent_id=organisation_id, limit=200)["items"],
        contacts=g.api.get("/persons", organisation_id=organisation_id, limit=200)["items"],
        vehicles=g.api.get("/vehicles", user_organisation_id=organisation_id, limit=200)["items"],
        contracts=g.api.get("/contracts", customer_id=organisation_id, limit=200)["items"],
        relationships=g.api.get("/customers", party_id=organisation_id, limit=50)["items"],
        billing=optional(f"/billing-profiles/{organisation_id}"),
        kyc_cases=g.api.get("/kyc/cases", customer_id=organisation_id, limit=50)["items"],
        accounts=g.api.get("/users", organisation_id=organisation_id, limit=200)["items"],
        customer_form=CustomerForm(formdata=None),
    ), 400 if errors else 200


@blueprint.route("/parties/<uuid:party_id>")
def party(party_id):
    """A customer id names an organisation or a person: the page of whichever it is."""
    if optional(f"/organisations/{party_id}") is not None:
        return redirect(url_for("office.organisation", organisation_id=party_id))
    return redirect(url_for("office.person", person_id=party_id))
