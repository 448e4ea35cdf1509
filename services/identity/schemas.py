"""The identity service's public contract: what its RPC methods take and answer, the events it
publishes (if any) and the enums they use. The gateway and the service both import it; it imports no
ORM, no nameko and nothing else of the service (models take their enums from here).
"""
from marshmallow import EXCLUDE, fields, validate, validates_schema
from marshmallow import ValidationError as MarshmallowError

from shared.schemas import BusinessId, Id, NationalId, Phone, PostalCode, RegistrationNumber, StrictSchema

ROLES = ("staff", "fleet_manager", "driver")
SCOPES = ("company", "group")
ROLE_KINDS = ("contact", "representative", "car_user", "decision_maker")
CUSTOMER_TYPES = ("private", "corporate")
RELATIONSHIP_TRANSITIONS = {"prospect": {"customer"}, "customer": {"former"}, "former": set()}
SERVICE_ORDER_STATUSES = ("open", "in_progress", "done", "cancelled")

Name = lambda: fields.String(required=True, validate=validate.Length(min=1, max=100))  # noqa: E731


class StrictBoolean(fields.Boolean):
    """JSON true or false only: 0, 1 and "false" are errors, not booleans."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class AddressFields(StrictSchema):
    street_address = fields.String(validate=validate.Length(max=200), allow_none=True)
    postal_code = PostalCode(allow_none=True)
    city = fields.String(validate=validate.Length(max=100), allow_none=True)


class OrganisationCreate(AddressFields):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    business_id = BusinessId(required=True)
    parent_id = Id(allow_none=True)


class OrganisationUpdate(AddressFields):
    name = fields.String(validate=validate.Length(min=1, max=200))
    parent_id = Id(allow_none=True)


class Organisation(OrganisationCreate):
    id = Id(required=True)
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)


SEARCH_TEXT = validate.Length(min=1, max=100)
CUSTOMER_STATUS = validate.OneOf(tuple(RELATIONSHIP_TRANSITIONS))


class OrganisationFilter(StrictSchema):
    parent_id = Id()
    business_id = BusinessId()
    name = fields.String()
    q = fields.String(validate=SEARCH_TEXT, metadata={"description": "Part of the name or the Y-tunnus"})
    customer_status = fields.String(validate=CUSTOMER_STATUS, metadata={
        "description": "Only organisations with a customer relationship in this status"})


class PersonCreate(AddressFields):
    first_name = Name()
    last_name = Name()
    email = fields.Email(allow_none=True)
    phone = Phone(allow_none=True)
    national_id = NationalId(allow_none=True, load_only=True)


class PersonUpdate(AddressFields):
    first_name = fields.String(validate=validate.Length(min=1, max=100))
    last_name = fields.String(validate=validate.Length(min=1, max=100))
    email = fields.Email(allow_none=True)
    phone = Phone(allow_none=True)
    national_id = NationalId(allow_none=True, load_only=True)


class Person(AddressFields):
    id = Id(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    national_id = fields.String(allow_none=True, attribute="national_id_masked",
                                metadata={"description": "masked, e.g. 131052-****; staff only"})
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)


class PersonFilter(StrictSchema):
    email = fields.Email()
    phone = Phone()
    last_name = fields.String()
    q = fields.String(validate=SEARCH_TEXT, metadata={
        "description": "Words each found in the first or last name, email or phone, or a whole phone number"})
    organisation_id = Id(metadata={"description": "Persons with a role in this organisation"})
    customer_status = fields.String(validate=CUSTOMER_STATUS, metadata={
        "description": "Only persons with a customer relationship in this status"})


class PersonSearch(StrictSchema):
    """A national id travels in a body only, never in a URL (logs, proxies, history)."""
    national_id = NationalId(required=True, load_only=True)


class RoleCreate(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(ROLE_KINDS))
    organisation_id = Id(allow_none=True)
    position = fields.String(allow_none=True, validate=validate.Length(max=100))
    registration_number = RegistrationNumber(allow_none=True)

    @validates_schema
    def check_links(self, data, **kwargs):
        if data["kind"] in ("contact", "representative") and not data.get("organisation_id"):
            raise MarshmallowError("A contact or representative belongs to an organisation.", "organisation_id")
        if data["kind"] in ("car_user", "decision_maker") and not data.get("registration_number"):
            raise MarshmallowError("A vehicle-user role names the vehicle.", "registration_number")


class Role(RoleCreate):
    id = Id(required=True)
    person_id = Id(required=True)
    created_at = fields.AwareDateTime(required=True)


class CustomerCreate(StrictSchema):
    party_type = fields.String(required=True, validate=validate.OneOf(("person", "organisation")))
    party_id = Id(required=True)
    customer_type = fields.String(required=True, validate=validate.OneOf(CUSTOMER_TYPES))
    status = fields.String(load_default="prospect", validate=validate.OneOf(("prospect", "customer")))
    contract_types = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list)
    started_on = fields.Date(allow_none=True)
    external_user_ids = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=50)),
                                    values=fields.String(validate=validate.Length(max=100)), load_default=dict)


class CustomerUpdate(StrictSchema):
    status = fields.String(validate=validate.OneOf(tuple(RELATIONSHIP_TRANSITIONS)))
    contract_types = fields.List(fields.String(validate=validate.Length(min=1, max=100)))
    started_on = fields.Date(allow_none=True)
    ended_on = fields.Date(allow_none=True)
    external_user_ids = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=50)),
                                    values=fields.String(validate=validate.Length(max=100)))


class Customer(StrictSchema):
    id = Id(required=True)
    party_type = fields.String(required=True)
    party_id = Id(required=True)
    customer_type = fields.String(required=True)
    status = fields.String(required=True)
    contract_types = fields.List(fields.String(), required=True)
    started_on = fields.Date(allow_none=True)
    ended_on = fields.Date(allow_none=True)
    external_user_ids = fields.Dict(required=True)
    next_statuses = fields.List(fields.String(), required=True, dump_only=True,
                                metadata={"description": "Statuses this relationship may move to next"})
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)


class CustomerFilter(StrictSchema):
    status = fields.String(validate=validate.OneOf(tuple(RELATIONSHIP_TRANSITIONS)))
    customer_type = fields.String(validate=validate.OneOf(CUSTOMER_TYPES))
    party_id = Id()


class ServiceOrderCreate(StrictSchema):
    what = fields.String(required=True, validate=validate.Length(min=1, max=200))
    ordered_at = fields.AwareDateTime(required=True)
    content = fields.String(allow_none=True, validate=validate.Length(max=5000))
    status = fields.String(load_default="open", validate=validate.OneOf(SERVICE_ORDER_STATUSES))


class ServiceOrder(ServiceOrderCreate):
    id = Id(required=True)
    relationship_id = Id(required=True)
    created_at = fields.AwareDateTime(required=True)


class SatisfactionCreate(StrictSchema):
    score = fields.Integer(required=True, validate=validate.Range(min=0, max=10))
    comment = fields.String(allow_none=True, validate=validate.Length(max=5000))
    responded_on = fields.Date(required=True)


class Satisfaction(SatisfactionCreate):
    id = Id(required=True)
    relationship_id = Id(required=True)
    created_at = fields.AwareDateTime(required=True)


class AccountCreate(StrictSchema):
    username = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9._@-]{3,100}$", error="3-100 characters: letters, digits and . _ @ -"))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=12, max=200))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    person_id = Id(allow_none=True)
    organisation_id = Id(allow_none=True)
    scope = fields.String(allow_none=True, validate=validate.OneOf(SCOPES))


class Account(StrictSchema):
    id = Id(required=True)
    username = fields.String(required=True)
    role = fields.String(required=True)
    person_id = Id(allow_none=True)
    organisation_id = Id(allow_none=True)
    scope = fields.String(allow_none=True)
    active = fields.Boolean(required=True)
    created_at = fields.AwareDateTime(required=True)


class AccountUpdate(StrictSchema):
    active = StrictBoolean()
    scope = fields.String(validate=validate.OneOf(SCOPES))
    password = fields.String(load_only=True, validate=validate.Length(min=12, max=200), metadata={
        "description": "Staff reset: a new password; the account's tokens stop working and a lockout ends"})


class AccountFilter(StrictSchema):
    role = fields.String(validate=validate.OneOf(ROLES))
    organisation_id = Id()
    person_id = Id()


class PasswordChange(StrictSchema):
    current_password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=200))
    new_password = fields.String(required=True, load_only=True, validate=validate.Length(min=12, max=200))


class AccessAuditEntry(StrictSchema):
    id = Id(required=True)
    person_id = Id(required=True)
    actor_account_id = Id(allow_none=True)
    actor_role = fields.String(allow_none=True)
    what = fields.String(required=True)
    correlation_id = fields.String(allow_none=True)
    at = fields.AwareDateTime(required=True)


class WebUsageEntry(StrictSchema):
    account_id = Id(allow_none=True)
    ip_address = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    browser = fields.String(allow_none=True)
    os = fields.String(allow_none=True)
    method = fields.String(required=True)
    path = fields.String(required=True)
    status = fields.Integer(required=True)
    at = fields.AwareDateTime(required=True)


class WebUsageRow(WebUsageEntry):
    class Meta:
        unknown = EXCLUDE


class RequestLoggedEvent(StrictSchema):
    """gateway.request_logged as identity reads it: a batch of requests."""
    entries = fields.List(fields.Nested(WebUsageRow), required=True)

    class Meta:
        unknown = EXCLUDE


class TokenRequest(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=100))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=200))


class Token(StrictSchema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_in = fields.Integer(required=True)


class Principal(StrictSchema):
    """Who is calling, as the gateway needs it for every authorisation decision."""
    account_id = Id(required=True)
    role = fields.String(required=True)
    person_id = Id(allow_none=True)
    organisation_id = Id(allow_none=True)
    scope = fields.String(allow_none=True)
    organisation_ids = fields.List(Id(), required=True)


class AccountChangedEvent(StrictSchema):
    """identity.account_changed: the account's roles, scope, activity or password changed."""
    account_id = Id(required=True)


class PersonErasedEvent(StrictSchema):
    """identity.person_erased: the person was anonymised in identity (SPEC §3)."""
    person_id = Id(required=True)
    erased_at = fields.AwareDateTime(required=True)


class OrganisationEvent(StrictSchema):
    """Payload of identity.organisation_changed."""
    id = Id(required=True)
    name = fields.String(required=True)
    business_id = fields.String(required=True)
    parent_id = Id(allow_none=True)


class CustomerRelationshipChangedEvent(StrictSchema):
    """Payload of identity.customer_relationship_changed: ended_on is set once every
    relationship of the party has ended (None while one is ongoing)."""
    party_id = Id(required=True)
    party_type = fields.String(allow_none=True, validate=validate.OneOf(("person", "organisation")))
    ended_on = fields.Date(allow_none=True)


class PersonCreatedEvent(StrictSchema):
    """Payload of identity.person_created / person_updated: never the national id."""
    id = Id(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
