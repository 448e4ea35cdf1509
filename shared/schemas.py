"""Marshmallow building blocks shared by every service: the base schema, the one
`load` that turns validation failures into ValidationFailed, and typed fields over
shared.validators."""
from decimal import Decimal

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate
from marshmallow import ValidationError as MarshmallowError

from shared import validators
from shared.errors import ValidationFailed

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


class StrictSchema(Schema):
    """Unknown fields are an error, not silently dropped."""

    class Meta:
        unknown = RAISE


def load(schema: Schema, data, partial=False):
    """Validate `data`; on failure raise ValidationFailed with field -> [messages]."""
    if not isinstance(data, dict):
        raise ValidationFailed("Body must be a JSON object", {"_schema": ["Expected a JSON object."]})
    unstorable = {field: [validators.UNSTORABLE_TEXT] for field, value in data.items()
                  if not validators.storable(value)}
    if unstorable:
        raise ValidationFailed("Invalid input", unstorable)
    try:
        return schema.load(data, partial=partial)
    except MarshmallowError as err:
        raise ValidationFailed("Invalid input", _as_field_messages(err.messages)) from None


def _as_field_messages(messages):
    if isinstance(messages, list):
        return {"_schema": messages}
    return messages


class _Normalised(fields.String):
    """A string field normalised by one of shared.validators."""
    normalise = staticmethod(lambda value: value)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return self.normalise(text)
        except ValueError as err:
            raise MarshmallowError(str(err)) from None


class NationalId(_Normalised):
    normalise = staticmethod(validators.national_id)


class BusinessId(_Normalised):
    normalise = staticmethod(validators.business_id)


class Phone(_Normalised):
    normalise = staticmethod(validators.phone)


class RegistrationNumber(_Normalised):
    normalise = staticmethod(validators.registration_number)


class Vin(_Normalised):
    normalise = staticmethod(validators.vin)


class PostalCode(_Normalised):
    normalise = staticmethod(validators.postal_code)


class Iban(_Normalised):
    normalise = staticmethod(validators.iban)


class Ovt(_Normalised):
    normalise = staticmethod(validators.ovt)


class Money(fields.Decimal):
    """Exact decimal in, decimal string out ("523.40")."""

    def __init__(self, **kwargs):
        kwargs.setdefault("places", 2)
        kwargs.setdefault("as_string", True)
        kwargs.setdefault("validate", validate.Range(min=Decimal("0")))
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float):
            # floats are not exact; accept them via their shortest repr
            value = repr(value)
        number = super()._deserialize(value, attr, data, **kwargs)
        if number != Decimal(str(value).strip()):
            raise MarshmallowError(f"At most {self.places_count} decimal places.")
        return number

    @property
    def places_count(self) -> int:
        return -self.places.as_tuple().exponent


class Id(fields.UUID):
    """UUIDs travel as strings."""

    def _deserialize(self, value, attr, data, **kwargs):
        return str(super()._deserialize(value, attr, data, **kwargs))


class EventSchema(Schema):
    """An event as a consumer reads it: producers may add fields; consumers take what they need."""

    class Meta:
        unknown = EXCLUDE


class PersonErasedEvent(EventSchema):
    """identity.person_erased: every service erases what it holds of the person."""
    person_id = Id(required=True)


class PageQuery(StrictSchema):
    limit = fields.Integer(load_default=DEFAULT_PAGE_SIZE, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    cursor = fields.String(load_default=None)
