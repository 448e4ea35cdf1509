"""The back office's forms. Fields are plain text where the API validates (its messages are
shown next to the fields); each form's field names are the API's body field names."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

CUSTOMER_STATUSES = ("prospect", "customer", "former")
PURPOSES = ("email_marketing", "sms_marketing", "phone_marketing", "profiling", "location_tracking")
CONSENT_STATUSES = ("granted", "withdrawn", "prohibited")
VEHICLE_CLASSES = ("passenger_car", "van", "truck", "bus", "trailer", "motorcycle", "other")
POWER_SOURCES = ("petrol", "diesel", "electric", "hybrid", "plugin_hybrid", "gas", "other")
ODOMETER_SOURCES = ("service_invoice", "customer", "driver_log", "fueling")
SERVICE_EVENT_KINDS = ("maintenance", "wash")
DOCUMENT_TYPES = ("passport", "id_card", "driving_licence", "residence_permit")
BILLING_METHODS = ("paper", "e_invoice", "email")
# the body fields each billing method needs (the API enforces it; the form marks them)
REQUIRED_BY_METHOD = {"paper": ("paper_address",), "e_invoice": ("e_invoice_address", "operator"),
                      "email": ("email",)}


def choices(values, blank=False):
    return ([("", "–")] if blank else []) + [(value, _l(value.replace("_", " "))) for value in values]


def _text(label, **kwargs):
    return StringField(label, validators=[Length(max=4000)], **kwargs)


def _date(label):
    return StringField(label, render_kw={"type": "date"})


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: ?q= carries no secret

    q = StringField(_l("Name, email, phone or Y-tunnus"), validators=[Length(max=100)])
    customer_status = SelectField(_l("Customer status"), choices=[("", _l("Any"))] + choices(CUSTOMER_STATUSES))


class NationalIdForm(FlaskForm):
    national_id = StringField(_l("National identity number"), validators=[DataRequired(), Length(max=20)],
                              render_kw={"autocomplete": "off"})


class PersonForm(FlaskForm):
    first_name = _text(_l("First name"))
    last_name = _text(_l("Last name"))
    email = _text(_l("Email"), render_kw={"type": "email"})
    phone = _text(_l("Phone"), render_kw={"type": "tel"})
    street_address = _text(_l("Street address"))
    postal_code = _text(_l("Postal code"))
    city = _text(_l("City"))


class NewPersonForm(PersonForm):
    national_id = _text(_l("National identity number"), render_kw={"autocomplete": "off"})


class OrganisationForm(FlaskForm):
    name = _text(_l("Name"))
    street_address = _text(_l("Street address"))
    postal_code = _text(_l("Postal code"))
    city = _text(_l("City"))


class NewOrganisationForm(OrganisationForm):
    business_id = _text(_l("Y-tunnus"))
    parent_id = _text(_l("Parent organisation id"))


class CustomerForm(FlaskForm):
    customer_type = SelectField(_l("Customer type"), choices=choices(("corporate", "private")))
    status = SelectField(_l("Customer status"), choices=choices(("prospect", "customer")))
    contract_types = _text(_l("Contract types"))


class AccountForm(FlaskForm):
    username = _text(_l("Username"))
    password = PasswordField(_l("Password"), render_kw={"autocomplete": "new-password"})
    role = SelectField(_l("Role"), choices=choices(("driver", "fleet_manager", "staff")))
    organisation_id = _text(_l("Organisation id (fleet manager)"))


class PasswordResetForm(FlaskForm):
    password = PasswordField(_l("New password"), render_kw={"autocomplete": "new-password"})


class ConsentForm(FlaskForm):
    purpose = SelectField(_l("Purpose"), choices=choices(PURPOSES))
    status = SelectField(_l("Consent"), choices=choices(CONSENT_STATUSES))
    source = _text(_l("Source (proof)"))
    channel = _text(_l("Channel"))
    text_version = _text(_l("Text version"))


class KycDocumentForm(FlaskForm):
    document_type = SelectField(_l("Document type"), choices=choices(DOCUMENT_TYPES, blank=True))
    document_number = _text(_l("Document number"))
    document_country = _text(_l("Issuing country"))
    document_expires_on = _date(_l("Document expires on"))
    national_id = _text(_l("Verified national identity number"), render_kw={"autocomplete": "off"})
    relationship_ended_on = _date(_l("Customer relationship ended on"))
    notes = TextAreaField(_l("Notes"), validators=[Length(max=4000)])


class KycFileForm(FlaskForm):
    file = FileField(_l("Document file (PDF, JPEG or PNG, at most 10 MB)"), validators=[FileRequired()],
                     render_kw={"accept": "application/pdf,image/jpeg,image/png"})


class KycPartyForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=[("beneficial_owner", _l("Beneficial owner")), ("pep", _l("PEP"))])
    first_name = _text(_l("First name"))
    last_name = _text(_l("Last name"))
    birth_date = _date(_l("Birth date"))
    nationality = _text(_l("Nationality"))
    ownership_percent = _text(_l("Ownership %"))
    pep_position = _text(_l("PEP position"))
    relation = _text(_l("Relation"))


class BillingProfileForm(FlaskForm):
    method = SelectField(_l("Invoicing method"), choices=choices(BILLING_METHODS))
    e_invoice_address = _text(_l("E-invoice address (OVT or IBAN)"))
    operator = _text(_l("Operator"))
    email = _text(_l("Invoice email"), render_kw={"type": "email"})
    paper_contact = _text(_l("Paper invoice contact"))
    paper_address = TextAreaField(_l("Paper invoice address"), validators=[Length(max=500)])
    payment_terms_days = _text(_l("Payment terms (days net)"))
    services = _text(_l("Services (comma-separated)"))


class InvoiceRunForm(FlaskForm):
    period = StringField(_l("Period"), validators=[DataRequired()], render_kw={"type": "month"})


class VehicleForm(FlaskForm):
    registration_number = _text(_l("Registration number"))
    vin = _text(_l("VIN"))
    make = _text(_l("Make"))
    model = _text(_l("Model"))
    first_registration_date = _date(_l("First registration"))
    vehicle_class = SelectField(_l("Vehicle class"), choices=choices(VEHICLE_CLASSES))
    power_source = SelectField(_l("Power source"), choices=choices(POWER_SOURCES))
    co2_g_per_km = _text(_l("CO2 g/km"))
    registration_certificate = _text(_l("Registration certificate"))
    user_organisation_id = _text(_l("User organisation id"))
    cost_center = _text(_l("Cost center"))
    driver_person_id = _text(_l("Driver person id"))


class ContractForm(FlaskForm):
    vehicle_id = _text(_l("Vehicle id"))
    customer_id = _text(_l("Customer id (organisation or person)"))
    contract_type = _text(_l("Contract type"))
    starts_on = _date(_l("Starts on"))
    ends_on = _date(_l("Ends on"))
    length_months = _text(_l("Length (months)"))
    lease_rent = _text(_l("Lease rent / month"))
    maintenance_budget = _text(_l("Maintenance budget / month"))
    account_fee = _text(_l("Account fee / month"))
    residual_value = _text(_l("Residual value"))
    included_km = _text(_l("Included km"))
    start_km = _text(_l("Start km"))
    replacement_car = BooleanField(_l("Replacement car"))
    financing_company = _text(_l("Financing company"))
    insurance_company = _text(_l("Insurance company"))
    insurance_deductible = _text(_l("Insurance deductible"))
    add_on_services = _text(_l("Add-on services (comma-separated)"))
    notes = TextAreaField(_l("Notes"), validators=[Length(max=4000)])


class ContractEditForm(ContractForm):
    vehicle_id = None
    customer_id = None


class OdometerForm(FlaskForm):
    km = _text(_l("Kilometres"))
    read_on = _date(_l("Read on"))
    source = SelectField(_l("Source"), choices=choices(ODOMETER_SOURCES))


class ServiceEventForm(FlaskForm):
    occurred_on = _date(_l("Date"))
    kind = SelectField(_l("Kind"), choices=choices(SERVICE_EVENT_KINDS))
    place_name = _text(_l("Place"))
    km = _text(_l("Kilometres"))
    description = TextAreaField(_l("Description"), validators=[Length(max=4000)])


class DealershipForm(FlaskForm):
    name = _text(_l("Name"))
    street_address = _text(_l("Street address"))
    postal_code = _text(_l("Postal code"))
    city = _text(_l("City"))
    seller_name = _text(_l("Seller"))
    phone = _text(_l("Phone"), render_kw={"type": "tel"})
    email = _text(_l("Email"), render_kw={"type": "email"})


class DeliveryForm(FlaskForm):
    vehicle_id = _text(_l("Vehicle id"))
    contract_id = _text(_l("Contract id"))
    dealership_id = _text(_l("Dealership id"))
    order_number = _text(_l("Order number"))
    order_info = TextAreaField(_l("Order info"), validators=[Length(max=4000)])
    ordered_on = _date(_l("Ordered on"))
    estimated_delivery_on = _date(_l("Estimated delivery"))
    confirmed_delivery_on = _date(_l("Confirmed delivery"))


class DeliveredForm(FlaskForm):
    delivered_on = _date(_l("Delivered on"))


class EventForm(FlaskForm):
    name = _text(_l("Name"))
    starts_at = StringField(_l("Starts at"), render_kw={"type": "datetime-local"})
    place = _text(_l("Place"))


class AttendeeForm(FlaskForm):
    person_id = _text(_l("Person id"))
    status = SelectField(_l("Attendance"), choices=choices(("registered", "attended", "cancelled")))
