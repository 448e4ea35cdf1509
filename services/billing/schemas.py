"""The billing service's public contract: what its RPC methods take and answer, the events it
publishes (if any) and the enums they use. The gateway and the service both import it; it imports no
ORM, no nameko and nothing else of the service (models take their enums from here).
"""
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from shared import validators
from shared.schemas import Id, Money, StrictSchema

METHODS = ("paper", "e_invoice", "email")
INVOICE_STATUSES = ("open", "sent", "paid", "credited")

Text = fields.String
PERIOD = validate.Regexp(r"^(19|20)\d{2}-(0[1-9]|1[0-2])$", error="Use YYYY-MM (1900-2099).")
# an e-invoicing operator (intermediator): its OVT code (0037 + 8 digits + suffix) or a bank's BIC
OPERATOR = validate.Regexp(r"^(0037\d{8}[0-9A-Z]{0,5}|[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?)$",
                           error="An operator OVT code (0037...) or a BIC.")


class EInvoiceAddress(fields.String):
    """OVT (0037 + Y-tunnus digits + optional suffix) or IBAN, each checksum-validated."""
    openapi = {"pattern": f"{validators.OVT_PATTERN}|{validators.IBAN_PATTERN}", "format": "fi-e-invoice-address",
               "example": "003707375462"}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        for normalise in (validators.ovt, validators.iban):
            try:
                return normalise(text)
            except ValueError:
                continue
        raise ValidationError("Not a valid OVT (0037 + Y-tunnus digits + optional suffix) or IBAN.")


class ProfilePut(StrictSchema):
    method = Text(required=True, validate=validate.OneOf(METHODS))
    e_invoice_address = EInvoiceAddress(allow_none=True, load_default=None)
    operator = Text(allow_none=True, load_default=None, validate=OPERATOR)
    email = fields.Email(allow_none=True, load_default=None, validate=validate.Length(max=254))
    paper_contact = Text(allow_none=True, load_default=None, validate=validate.Length(max=200))
    paper_address = Text(allow_none=True, load_default=None, validate=validate.Length(min=1, max=500))
    payment_terms_days = fields.Integer(load_default=14, validate=validate.Range(min=0, max=120))
    services = fields.List(Text(validate=validate.Length(min=1, max=100)), load_default=list,
                           validate=validate.Length(max=30))

    @validates_schema
    def _required_by_method(self, data, **kwargs):
        needed = {"e_invoice": ("e_invoice_address", "operator"), "email": ("email",),
                  "paper": ("paper_address",)}[data["method"]]
        missing = {field: [f"Required for method {data['method']}."] for field in needed if not data.get(field)}
        if missing:
            raise ValidationError(missing)


class Profile(StrictSchema):
    customer_id = Text()
    method = Text()
    e_invoice_address = Text(allow_none=True)
    operator = Text(allow_none=True)
    email = Text(allow_none=True)
    paper_contact = Text(allow_none=True)
    paper_address = Text(allow_none=True)
    payment_terms_days = fields.Integer()
    services = fields.List(Text())
    updated_at = fields.DateTime()


class RunRequest(StrictSchema):
    period = Text(required=True, validate=PERIOD)


class RunResult(StrictSchema):
    period = Text()
    created = fields.Integer()
    existing = fields.Integer()
    invoice_ids = fields.List(Text())
    total = Money()


class Line(StrictSchema):
    contract_id = Text()
    vehicle_id = Text()
    registration_number = Text()
    description = Text()
    lease_rent = Money()
    maintenance_budget = Money()
    account_fee = Money()
    amount = Money()


class Invoice(StrictSchema):
    id = Text()
    number = Text()
    customer_id = Text()
    period = Text()
    issue_date = fields.Date()
    due_date = fields.Date()
    delivery_method = Text()
    total = Money()
    status = Text()
    lines = fields.List(fields.Nested(Line))
    created_at = fields.DateTime()


class InvoiceFilter(StrictSchema):
    customer_id = Id()
    period = Text(validate=PERIOD)
    status = Text(validate=validate.OneOf(INVOICE_STATUSES))


class BillableContract(Schema):
    """A row of fleet.contracts_for_billing."""
    class Meta:
        unknown = EXCLUDE

    contract_id = Id(required=True)
    customer_id = Id(required=True)
    vehicle_id = Id(required=True)
    registration_number = Text(required=True)
    contract_type = Text(required=True)
    lease_rent = Money(required=True)
    maintenance_budget = Money(required=True)
    account_fee = Money(required=True)
    monthly_total = Money(required=True)
