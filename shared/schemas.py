"""Marshmallow building blocks shared by every service: the base schema, the one
`load` that turns validation failures into ValidationFailed, and typed fields over
shared.validators."""
import re
from decimal import Decimal

from marshmallow import EXCLUDE, RAISE, Schema, fields, pre_load, validate
from marshmallow import ValidationError as MarshmallowError

from shared import validators
from shared.errors import ValidationFailed

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


class StrictSchema(Schema):
    """Unknown fields are an error, not silently dropped; and a JSON value must have the type
    the OpenAPI document gives it: `0` is not `false`, `"5"` not `5`, `2.5` not an integer,
    a money amount is a string (marshmallow alone would coerce each)."""
    from_query_string = False

    class Meta:
        unknown = RAISE

    @pre_load
    def _exact_types(self, data, **kwargs):
        if not isinstance(data, dict):
            return data
        wrong = {}
        for name, field in self.load_fields.items():
            key = field.data_key or name
            value = data.get(key)
            if value is not None and not _has_type(field, value, self.from_query_string):
                wrong[key] = [f"Not a valid {_type_name(field)}."]
        if wrong:
            raise MarshmallowError(wrong)
        return data


class QuerySchema(StrictSchema):
    """Query parameters: every value arrives as text, so a boolean is `true`/`false` and an
    integer is written in digits."""
    from_query_string = True


INTEGER_TEXT = re.compile(r"^-?[0-9]+$")


def _has_type(field, value, from_query_string: bool) -> bool:
    if from_query_string:
        if isinstance(field, fields.Boolean):
            return value in ("true", "false")
        if isinstance(field, fields.Integer):
            return isinstance(value, str) and bool(INTEGER_TEXT.match(value))
        return True
    if isinstance(field, fields.Boolean):
        return isinstance(value, bool)
    if isinstance(field, fields.Integer):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(field, fields.Decimal) and field.as_string:
        return isinstance(value, str)
    if isinstance(field, (fields.Float, fields.Decimal)):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return True


def _type_name(field) -> str:
    if isinstance(field, fields.Boolean):
        return "boolean (true or false)"
    if isinstance(field, fields.Integer):
        return "integer"
    if isinstance(field, fields.Decimal) and field.as_string:
        return "decimal string (e.g. \"523.40\")"
    return "number"


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
    """A string field normalised by one of shared.validators. `openapi` is what the API
    document says of it: the validator's pattern, and for values a pattern cannot check
    (checksums) a named format whose valid values tests/fuzz_hooks.py knows how to make."""
    normalise = staticmethod(lambda value: value)
    openapi: dict = {}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return self.normalise(text)
        except ValueError as err:
            raise MarshmallowError(str(err)) from None


class NationalId(_Normalised):
    openapi = {"pattern": validators.NATIONAL_ID_PATTERN, "format": "fi-hetu", "example": "131052-308T"}
    normalise = staticmethod(validators.national_id)


class BusinessId(_Normalised):
    openapi = {"pattern": validators.BUSINESS_ID_PATTERN, "format": "fi-ytunnus", "example": "0737546-2"}
    normalise = staticmethod(validators.business_id)


class Phone(_Normalised):
    openapi = {"pattern": validators.PHONE_PATTERN, "format": "phone", "example": "+358401234567"}
    normalise = staticmethod(validators.phone)


class RegistrationNumber(_Normalised):
    openapi = {"pattern": validators.PLATE_PATTERN, "example": "ABC-123"}
    normalise = staticmethod(validators.registration_number)


class Vin(_Normalised):
    openapi = {"pattern": validators.VIN_PATTERN, "example": "WVWZZZ1JZXW000001"}
    normalise = staticmethod(validators.vin)


class PostalCode(_Normalised):
    openapi = {"pattern": validators.POSTAL_CODE_PATTERN, "example": "00100"}
    normalise = staticmethod(validators.postal_code)


class Iban(_Normalised):
    openapi = {"pattern": validators.IBAN_PATTERN, "format": "iban", "example": "FI2112345600000785"}
    normalise = staticmethod(validators.iban)


class Ovt(_Normalised):
    openapi = {"pattern": validators.OVT_PATTERN, "format": "fi-ovt", "example": "003707375462"}
    normalise = staticmethod(validators.ovt)


class Money(fields.Decimal):
    """Exact decimal in, decimal string out ("523.40"); at most what a NUMERIC(12, 2) column holds."""
    MAX_UNITS_DIGITS = 10

    def __init__(self, **kwargs):
        kwargs.setdefault("places", 2)
        kwargs.setdefault("as_string", True)
        kwargs.setdefault("validate", validate.Range(min=Decimal("0"), max=Decimal("9999999999.99")))
        super().__init__(**kwargs)
        # what the OpenAPI document publishes and a string must match
        self.pattern = rf"^[0-9]{{1,{self.MAX_UNITS_DIGITS}}}(\.[0-9]{{1,{self.places_count}}})?$"

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float):
            # floats are not exact; accept them via their shortest repr
            value = repr(value)
        elif isinstance(value, str) and not re.fullmatch(self.pattern, value):
            raise MarshmallowError(f"Not a valid amount: up to {self.MAX_UNITS_DIGITS} digits, at most "
                                   f"{self.places_count} decimal places.")
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


class PageQuery(QuerySchema):
    limit = fields.Integer(load_default=DEFAULT_PAGE_SIZE, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    cursor = fields.String(load_default=None)
