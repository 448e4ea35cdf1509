"""KYC, billing and invoices, contracts and vehicles, deliveries and dealerships, marketing."""
from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from web.forms import attempt, body_of, fill, submit
from web.i18n import label
from web.office import blueprint, optional
from web.office.forms import (REQUIRED_BY_METHOD, AttendeeForm, BillingProfileForm, ContractEditForm, ContractForm,
                              DealershipForm, DeliveredForm, DeliveryForm, EventForm, InvoiceRunForm, KycDocumentForm,
                              KycFileForm, KycPartyForm, OdometerForm, ServiceEventForm, VehicleForm)

CONTRACT_STATUSES = ("ordered", "awaiting_delivery", "active", "ended", "terminated")


def _form_page(form, title, errors, back=None):
    return render_template("office/form.html", form=form, title=title, errors=errors, back=back), \
        400 if errors else 200


# --- KYC ----------------------------------------------------------------------------------------

@blueprint.route("/kyc/new", methods=["POST"])
def open_kyc_case():
    case, errors = attempt(g.api.post, "/kyc/cases", {"customer_id": request.form.get("customer_id", "")})
    if case:
        return redirect(url_for("office.kyc", case_id=case["id"]))
    flash(" ".join(m for messages in errors.values() for m in messages), "error")
    return redirect(request.referrer or url_for("office.search"))


@blueprint.route("/kyc/<uuid:case_id>", methods=["GET", "POST"])
def kyc(case_id):
    case = g.api.get(f"/kyc/cases/{case_id}")
    form = KycDocumentForm()
    shown = {k: v for k, v in case.items() if k not in ("national_id", "document_number")}  # masked: not editable
    done, errors = submit(form, g.api.patch, f"/kyc/cases/{case_id}", lambda _r: request.path, shown, _("Saved."))
    if done:
        return done
    return render_template("office/kyc.html", case=case, form=form, errors=errors, file_form=KycFileForm(formdata=None),
                           party_form=KycPartyForm(formdata=None)), 400 if errors else 200


@blueprint.route("/kyc/<uuid:case_id>/status", methods=["POST"])
def kyc_status(case_id):
    _case, errors = attempt(g.api.patch, f"/kyc/cases/{case_id}", {"status": request.form.get("status", "")})
    for messages in errors.values():
        flash(" ".join(messages), "error")
    return redirect(url_for("office.kyc", case_id=case_id))


@blueprint.route("/kyc/<uuid:case_id>/document-file", methods=["GET", "POST"])
def kyc_file(case_id):
    if request.method == "GET":
        stored = g.api.raw("GET", f"/kyc/cases/{case_id}/document-file")
        if stored.status_code != 200:
            abort(404)
        extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(
            stored.headers.get("Content-Type", ""), "bin")
        return Response(stored.content, mimetype=stored.headers.get("Content-Type"), headers={
            "Content-Disposition": f'attachment; filename="kyc-{case_id}.{extension}"'})
    form = KycFileForm()
    if form.validate_on_submit():
        upload = form.file.data
        response = g.api.raw("PUT", f"/kyc/cases/{case_id}/document-file",
                             files={"file": (upload.filename or "document", upload.stream, upload.mimetype)})
        if response.status_code == 200:
            flash(_("Document file stored."), "success")
        elif response.status_code in (400, 413, 415):
            flash({413: _("The file is too large (at most 10 MB)."),
                   415: _("Only PDF, JPEG or PNG files are accepted.")}.get(response.status_code,
                                                                             _("The file was not accepted.")),
                  "error")
        else:
            response.raise_for_status()
    else:
        flash(_("Choose a file to upload."), "error")
    return redirect(url_for("office.kyc", case_id=case_id))


@blueprint.route("/kyc/<uuid:case_id>/parties", methods=["POST"])
def kyc_party(case_id):
    return _add(KycPartyForm(), f"/kyc/cases/{case_id}/parties", url_for("office.kyc", case_id=case_id))


# --- billing and invoices ----------------------------------------------------------------------

@blueprint.route("/billing/<uuid:customer_id>", methods=["GET", "POST"])
def billing(customer_id):
    profile = optional(f"/billing-profiles/{customer_id}")
    htmx = bool(request.headers.get("HX-Request"))
    form = BillingProfileForm(formdata=request.args) if htmx and request.method == "GET" else BillingProfileForm()
    errors = {}
    if htmx and request.method == "GET":
        pass  # the method changed: the same values, other fields required
    elif form.validate_on_submit():
        saved, errors = attempt(g.api.put, f"/billing-profiles/{customer_id}", body_of(form))
        if saved:
            flash(_("Billing profile saved."), "success")
            return redirect(url_for("office.billing", customer_id=customer_id))
    elif request.method == "GET":
        fill(form, profile or {"method": request.args.get("method", "e_invoice"), "payment_terms_days": 14})
    method = form.method.data if form.method.data in REQUIRED_BY_METHOD else "e_invoice"
    template = "office/_billing_form.html" if htmx else "office/billing.html"
    return render_template(template, customer_id=str(customer_id), profile=profile, form=form, errors=errors,
                           required=REQUIRED_BY_METHOD[method]), 400 if errors else 200


@blueprint.route("/invoices", methods=["GET", "POST"])
def invoices():
    run_form, errors, result = InvoiceRunForm(), {}, None
    if run_form.validate_on_submit():
        result, errors = attempt(g.api.post, "/invoices/run", {"period": run_form.period.data})
    filters = {key: request.args.get(key) for key in ("customer_id", "period", "status")}
    page = g.api.get("/invoices", limit=50, cursor=request.args.get("cursor"), **filters)
    return render_template("office/invoices.html", page=page, run_form=run_form, errors=errors, result=result,
                           filters=filters), 400 if errors else 200


@blueprint.route("/invoices/<uuid:invoice_id>")
def invoice(invoice_id):
    return render_template("office/invoice.html", invoice=g.api.get(f"/invoices/{invoice_id}"))


# --- contracts ------------------------------------------------------------------------------------

@blueprint.route("/contracts")
def contracts():
    filters = {key: request.args.get(key) for key in ("status", "customer_id", "vehicle_id")}
    page = g.api.get("/contracts", limit=50, cursor=request.args.get("cursor"), **filters)
    return render_template("office/contracts.html", page=page, filters=filters, statuses=CONTRACT_STATUSES)


@blueprint.route("/contracts/new", methods=["GET", "POST"])
def new_contract():
    form = ContractForm()
    done, errors = submit(form, g.api.post, "/contracts",
                          lambda contract: url_for("office.contract", contract_id=contract["id"]), request.args)
    return done or _form_page(form, _("New contract"), errors, url_for("office.contracts"))


@blueprint.route("/contracts/<uuid:contract_id>", methods=["GET", "POST"])
def contract(contract_id):
    contract = g.api.get(f"/contracts/{contract_id}")
    form = ContractEditForm()
    done, errors = submit(form, g.api.patch, f"/contracts/{contract_id}", lambda _r: request.path, contract,
                          _("Saved."))
    if done:
        return done
    deliveries = g.api.get("/deliveries", limit=200, contract_id=str(contract_id))["items"]
    return render_template("office/contract.html", contract=contract, form=form, errors=errors,
                           deliveries=deliveries), 400 if errors else 200


@blueprint.route("/contracts/<uuid:contract_id>/status", methods=["POST"])
def contract_status(contract_id):
    updated, errors = attempt(g.api.patch, f"/contracts/{contract_id}", {"status": request.form.get("status", "")})
    if updated:
        flash(_("Contract is now %(status)s.", status=label(updated["status"])), "success")
    for messages in errors.values():
        flash(" ".join(messages), "error")
    return redirect(url_for("office.contract", contract_id=contract_id))


# --- vehicles ---------------------------------------------------------------------------------------

@blueprint.route("/vehicles")
def vehicles():
    filters = {key: request.args.get(key) for key in ("registration_number", "user_organisation_id", "status")}
    page = g.api.get("/vehicles", limit=50, cursor=request.args.get("cursor"), **filters)
    return render_template("office/vehicles.html", page=page, filters=filters)


@blueprint.route("/vehicles/new", methods=["GET", "POST"])
def new_vehicle():
    form = VehicleForm()
    done, errors = submit(form, g.api.post, "/vehicles",
                          lambda vehicle: url_for("office.vehicle", vehicle_id=vehicle["id"]), request.args)
    return done or _form_page(form, _("New vehicle"), errors, url_for("office.vehicles"))


@blueprint.route("/vehicles/<uuid:vehicle_id>", methods=["GET", "POST"])
def vehicle(vehicle_id):
    vehicle = g.api.get(f"/vehicles/{vehicle_id}")
    form = VehicleForm()
    done, errors = submit(form, g.api.patch, f"/vehicles/{vehicle_id}", lambda _r: request.path, vehicle, _("Saved."))
    if done:
        return done
    return render_template(
        "office/vehicle.html", vehicle=vehicle, form=form, errors=errors,
        readings=g.api.get(f"/vehicles/{vehicle_id}/odometer", limit=50)["items"],
        events=g.api.get(f"/vehicles/{vehicle_id}/service-events", limit=50)["items"],
        contracts=g.api.get("/contracts", vehicle_id=str(vehicle_id), limit=50)["items"],
        odometer_form=OdometerForm(formdata=None, prefix="odo"),
        event_form=ServiceEventForm(formdata=None, prefix="event")), 400 if errors else 200


@blueprint.route("/vehicles/<uuid:vehicle_id>/odometer", methods=["POST"])
def add_reading(vehicle_id):
    return _add(OdometerForm(prefix="odo"), f"/vehicles/{vehicle_id}/odometer",
                url_for("office.vehicle", vehicle_id=vehicle_id))


@blueprint.route("/vehicles/<uuid:vehicle_id>/service-events", methods=["POST"])
def add_service_event(vehicle_id):
    return _add(ServiceEventForm(prefix="event"), f"/vehicles/{vehicle_id}/service-events",
                url_for("office.vehicle", vehicle_id=vehicle_id))


def _add(form, path, back):
    """A small form on a detail page: POST it to the API, then back with a message per field."""
    if form.validate_on_submit():
        created, errors = attempt(g.api.post, path, body_of(form))
        if created:
            flash(_("Added."), "success")
        labels = {field.short_name: field.label.text for field in form}
        for name, messages in errors.items():
            flash(f"{labels.get(name, name)}: {' '.join(messages)}", "error")
    return redirect(back)


# --- deliveries and dealerships ----------------------------------------------------------------------

@blueprint.route("/deliveries", methods=["GET", "POST"])
def deliveries():
    form = DeliveryForm()
    done, errors = submit(form, g.api.post, "/deliveries", lambda _r: request.path, request.args,
                          _("Delivery ordered."))
    if done:
        return done
    pending = request.args.get("pending")
    page = g.api.get("/deliveries", limit=50, cursor=request.args.get("cursor"), pending=pending)
    return render_template("office/deliveries.html", page=page, form=form, errors=errors,
                           delivered_form=DeliveredForm(formdata=None)), 400 if errors else 200


@blueprint.route("/deliveries/<uuid:delivery_id>/delivered", methods=["POST"])
def delivered(delivery_id):
    form = DeliveredForm()
    if form.validate_on_submit():
        done, errors = attempt(g.api.patch, f"/deliveries/{delivery_id}", body_of(form))
        for messages in errors.values():
            flash(" ".join(messages), "error")
        if done:
            flash(_("Saved."), "success")
    return redirect(url_for("office.deliveries"))


@blueprint.route("/dealerships", methods=["GET", "POST"])
def dealerships():
    form = DealershipForm()
    done, errors = submit(form, g.api.post, "/dealerships", lambda _r: request.path, saved=_("Dealership added."))
    if done:
        return done
    page = g.api.get("/dealerships", limit=200, cursor=request.args.get("cursor"))
    return render_template("office/dealerships.html", page=page, form=form, errors=errors), 400 if errors else 200


# --- marketing ----------------------------------------------------------------------------------------

@blueprint.route("/marketing", methods=["GET", "POST"])
def marketing():
    form = EventForm()
    done, errors = submit(form, g.api.post, "/marketing/events",
                          lambda event: url_for("office.marketing_event", event_id=event["id"]))
    if done:
        return done
    channel = request.args.get("channel") if request.args.get("channel") in ("email", "sms", "phone") else "email"
    return render_template("office/marketing.html", overview=g.api.get("/marketing/overview"), channel=channel,
                           audience=g.api.get("/marketing/audience", channel=channel, limit=50),
                           events=g.api.get("/marketing/events", limit=50)["items"], form=form,
                           errors=errors), 400 if errors else 200


@blueprint.route("/marketing/events/<uuid:event_id>", methods=["GET", "POST"])
def marketing_event(event_id):
    form = AttendeeForm()
    done, errors = submit(form, g.api.post, f"/marketing/events/{event_id}/attendees", lambda _r: request.path,
                          saved=_("Saved."))
    if done:
        return done
    return render_template("office/event.html", event=g.api.get(f"/marketing/events/{event_id}"),
                           attendees=g.api.get(f"/marketing/events/{event_id}/attendees", limit=200)["items"],
                           form=form, errors=errors), 400 if errors else 200
