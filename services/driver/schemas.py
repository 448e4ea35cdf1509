from marshmallow import EXCLUDE, fields

from shared.schemas import Id, StrictSchema


class PersonEvent(StrictSchema):
    """identity.person_created / person_updated as this service reads it."""

    class Meta:
        unknown = EXCLUDE  # producers may add fields; consumers take what they need

    id = Id(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    email = fields.String(allow_none=True, load_default=None)
    phone = fields.String(allow_none=True, load_default=None)


class DriverProfile(StrictSchema):
    person_id = Id(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
