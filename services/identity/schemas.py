from marshmallow import fields, validate

from shared.schemas import BusinessId, Id, NationalId, Phone, PostalCode, StrictSchema

from services.identity.models import ROLES, SCOPES

Name = lambda: fields.String(required=True, validate=validate.Length(min=1, max=100))  # noqa: E731


class AddressFields(StrictSchema):
    street_address = fields.String(validate=validate.Length(max=200), allow_none=True)
    postal_code = PostalCode(allow_none=True)
    city = fields.String(validate=validate.Length(max=100), allow_none=True)


class OrganisationCreate(AddressFields):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    business_id = BusinessId(required=True)
    parent_id = Id(allow_none=True)


class Organisation(OrganisationCreate):
    id = Id(required=True)
    created_at = fields.AwareDateTime(required=True)


class OrganisationFilter(StrictSchema):
    parent_id = Id()
    business_id = BusinessId()
    name = fields.String()


class PersonCreate(AddressFields):
    first_name = Name()
    last_name = Name()
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
                                metadata={"description": "masked, e.g. 131052-****"})
    created_at = fields.AwareDateTime(required=True)


class PersonFilter(StrictSchema):
    national_id = NationalId()
    email = fields.Email()
    phone = Phone()
    last_name = fields.String()


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


class PersonCreatedEvent(StrictSchema):
    """Payload of identity.person_created / person_updated: never the national id."""
    id = Id(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
