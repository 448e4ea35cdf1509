import datetime as dt

from marshmallow import EXCLUDE, fields, validate

from shared.schemas import Id, StrictSchema

from services.marketing.models import CHANNEL_PURPOSE, PURPOSES, STATUSES


class ConsentChange(StrictSchema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    source = fields.String(required=True, validate=validate.Length(min=1, max=100))
    channel = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=50))
    text_version = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=50))


class Purpose(StrictSchema):
    purpose = fields.String(required=True, validate=validate.OneOf(PURPOSES))


class Consent(StrictSchema):
    person_id = fields.String()
    purpose = fields.String()
    status = fields.String()
    source = fields.String()
    by_person = fields.Boolean()
    at = fields.DateTime()


class ConsentRecord(StrictSchema):
    id = fields.String()
    person_id = fields.String()
    purpose = fields.String()
    status = fields.String()
    source = fields.String()
    channel = fields.String(allow_none=True)
    text_version = fields.String(allow_none=True)
    by_person = fields.Boolean()
    actor_account_id = fields.String(allow_none=True)
    actor_role = fields.String(allow_none=True)
    at = fields.DateTime()


class Consents(StrictSchema):
    person_id = fields.String()
    consents = fields.List(fields.Nested(Consent))
    history = fields.List(fields.Nested(ConsentRecord))


class ConsentChangedEvent(StrictSchema):
    """Payload of marketing.consent_changed."""
    person_id = fields.String()
    purpose = fields.String()
    status = fields.String()
    at = fields.DateTime()
    source = fields.String()


class PersonEvent(StrictSchema):
    """identity.person_created / person_updated as marketing reads it."""
    class Meta:
        unknown = EXCLUDE

    id = Id(required=True)
    first_name = fields.String(allow_none=True, load_default=None)
    last_name = fields.String(allow_none=True, load_default=None)
    email = fields.String(allow_none=True, load_default=None)
    phone = fields.String(allow_none=True, load_default=None)


class ProfileUpdate(StrictSchema):
    position = fields.String(allow_none=True, validate=validate.Length(max=100))
    company = fields.String(allow_none=True, validate=validate.Length(max=200))


class Contact(StrictSchema):
    person_id = fields.String()
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    position = fields.String(allow_none=True)
    company = fields.String(allow_none=True)


class AudienceQuery(StrictSchema):
    channel = fields.String(required=True, validate=validate.OneOf(tuple(CHANNEL_PURPOSE)))


class AudienceMember(StrictSchema):
    person_id = fields.String()
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    address = fields.String(metadata={"description": "email address or phone number for the channel"})


class Overview(StrictSchema):
    consents = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Integer()),
                           metadata={"description": "purpose -> status -> number of persons"})
    audience = fields.Dict(keys=fields.String(), values=fields.Integer(),
                           metadata={"description": "channel -> number of contacts reachable on it"})


class EventCreate(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    starts_at = fields.AwareDateTime(required=True, default_timezone=dt.timezone.utc)
    place = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class MarketingEvent(StrictSchema):
    id = fields.String()
    name = fields.String()
    starts_at = fields.DateTime()
    place = fields.String(allow_none=True)
    created_at = fields.DateTime()


class NoFilter(StrictSchema):
    pass


class AttendeeCreate(StrictSchema):
    person_id = Id(required=True)
    status = fields.String(load_default="registered", validate=validate.OneOf(("registered", "attended", "cancelled")))


class Attendee(StrictSchema):
    id = fields.String()
    event_id = fields.String()
    person_id = fields.String()
    status = fields.String()
    created_at = fields.DateTime()

