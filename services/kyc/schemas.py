import datetime as dt

import phonenumbers
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.schemas import EventSchema, Id, NationalId, StrictSchema

from services.kyc.models import CASE_STATUSES, DOCUMENT_TYPES

Text = fields.String
ACCEPTED_FILE_TYPES = ("application/pdf", "image/jpeg", "image/png")
MAX_FILE_BYTES = 10 * 1024 * 1024


class Country(fields.String):
    """ISO 3166 alpha-2 (the regions phonenumbers knows), in either case, as the API document's enum says."""
    openapi = {"enum": sorted(phonenumbers.SUPPORTED_REGIONS | {code.lower() for code in phonenumbers.SUPPORTED_REGIONS})}

    def _deserialize(self, value, attr, data, **kwargs):
        code = super()._deserialize(value, attr, data, **kwargs)
        if code not in self.openapi["enum"]:
            raise ValidationError("Not an ISO 3166 alpha-2 country code.")
        return code.upper()


class _Document(StrictSchema):
    national_id = NationalId(allow_none=True, load_only=True)
    document_type = Text(allow_none=True, validate=validate.OneOf(DOCUMENT_TYPES))
    document_number = Text(allow_none=True, load_only=True, validate=validate.Length(min=3, max=40))
    document_country = Country(allow_none=True)
    document_expires_on = fields.Date(allow_none=True)


class CaseCreate(_Document):
    customer_id = Id(required=True)
    notes = Text(allow_none=True, validate=validate.Length(max=4000))


class CaseUpdate(_Document):
    """PATCH: identifying data, notes, and `status` (pending → verified | rejected; verified → expired)."""
    status = Text(validate=validate.OneOf(CASE_STATUSES))
    notes = Text(allow_none=True, validate=validate.Length(max=4000))
    relationship_ended_on = fields.Date(allow_none=True)


class _Masked(StrictSchema):
    national_id = Text(attribute="national_id_masked", allow_none=True)
    document_type = Text(allow_none=True)
    document_number = Text(attribute="document_number_masked", allow_none=True)
    document_country = Text(allow_none=True)
    document_expires_on = fields.Date(allow_none=True)


class PartyCreate(_Document):
    kind = Text(required=True, validate=validate.OneOf(("beneficial_owner", "pep")))
    person_id = Id(allow_none=True)
    first_name = Text(required=True, validate=validate.Length(min=1, max=100))
    last_name = Text(required=True, validate=validate.Length(min=1, max=100))
    birth_date = fields.Date(allow_none=True)
    nationality = Country(allow_none=True)
    ownership_percent = fields.Decimal(allow_none=True, places=2, as_string=True,
                                       validate=validate.Range(min=0, max=100))
    pep_position = Text(allow_none=True, validate=validate.Length(max=200))
    relation = Text(allow_none=True, validate=validate.Length(max=200))

    @validates_schema
    def _by_kind(self, data, **kwargs):
        if data["kind"] == "beneficial_owner":
            share = data.get("ownership_percent")
            if share is None or share <= 25:
                raise ValidationError("A beneficial owner holds more than 25 %.", "ownership_percent")
        elif not data.get("pep_position"):
            raise ValidationError("The politically exposed position is required.", "pep_position")
        if data.get("birth_date") and data["birth_date"] > dt.date.today():
            raise ValidationError("Must not be in the future.", "birth_date")


class Party(_Masked):
    id = Text()
    case_id = Text()
    kind = Text()
    person_id = Text(allow_none=True)
    first_name = Text()
    last_name = Text()
    birth_date = fields.Date(allow_none=True)
    nationality = Text(allow_none=True)
    ownership_percent = fields.Decimal(as_string=True, allow_none=True)
    pep_position = Text(allow_none=True)
    relation = Text(allow_none=True)
    created_at = fields.DateTime()


class Case(_Masked):
    id = Text()
    customer_id = Text()
    status = Text()
    next_statuses = fields.List(Text(), metadata={"description": "Statuses the case may move to next"})
    notes = Text(allow_none=True)
    file = fields.Method("_file", allow_none=True)
    verified_by = Text(allow_none=True)
    verified_at = fields.DateTime(allow_none=True)
    relationship_ended_on = fields.Date(allow_none=True)
    beneficial_owners = fields.Method("_owners")
    peps = fields.Method("_peps")
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    def _file(self, case):
        if not case.file_name:
            return None
        return {"content_type": case.file_content_type, "size": case.file_size}

    def _owners(self, case):
        return Party(many=True).dump([p for p in case.parties if p.kind == "beneficial_owner"])

    def _peps(self, case):
        return Party(many=True).dump([p for p in case.parties if p.kind == "pep"])


class CaseFilter(StrictSchema):
    customer_id = Id()
    status = Text(validate=validate.OneOf(CASE_STATUSES))


class DocumentUpload(Schema):
    """multipart/form-data with one part `file`: PDF, JPEG or PNG, at most 10 MB."""
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class RelationshipChangedEvent(EventSchema):
    """identity.customer_relationship_changed as KYC reads it: ended_on is set once every
    relationship of the party has ended."""
    party_id = Id(required=True)
    ended_on = fields.Date(allow_none=True, load_default=None)
