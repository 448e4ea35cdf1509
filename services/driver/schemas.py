"""The driver service's public contract: what its RPC methods take and answer, the events it
publishes (if any) and the enums they use. The gateway and the service both import it; it imports no
ORM, no nameko and nothing else of the service (models take their enums from here).
"""
import datetime as dt
import functools
import json
import re
from decimal import Decimal

from marshmallow import ValidationError, fields, post_load, validate, validates, validates_schema

from shared import validators
from shared.clock import utcnow
from shared.errors import ValidationFailed
from shared.schemas import EventSchema, Id, Money, Phone, QuerySchema, RegistrationNumber, StrictSchema, load


class PersonEvent(EventSchema):
    """identity.person_created / person_updated as this service reads it."""
    id = Id(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    email = fields.String(allow_none=True, load_default=None)
    phone = fields.String(allow_none=True, load_default=None)


class VehicleAssignedEvent(EventSchema):
    vehicle_id = Id(required=True)
    registration_number = fields.String(allow_none=True, load_default=None)
    driver_person_id = Id(allow_none=True, load_default=None)
    user_organisation_id = Id(allow_none=True, load_default=None)
    make = fields.String(allow_none=True, load_default=None)
    model = fields.String(allow_none=True, load_default=None)


class ContractChangedEvent(EventSchema):
    contract_id = Id(required=True)
    vehicle_id = Id(required=True)
    registration_number = fields.String(allow_none=True, load_default=None)
    driver_person_id = Id(allow_none=True, load_default=None)
    status = fields.String(allow_none=True, load_default=None)
    contract_type = fields.String(allow_none=True, load_default=None)
    starts_on = fields.Date(allow_none=True, load_default=None)
    ends_on = fields.Date(allow_none=True, load_default=None)
    length_months = fields.Integer(allow_none=True, load_default=None)
    add_on_services = fields.List(fields.String(), allow_none=True, load_default=list)
    included_km = fields.Integer(allow_none=True, load_default=None)
    start_km = fields.Integer(allow_none=True, load_default=None)


class ConsentChangedEvent(EventSchema):
    person_id = Id(required=True)
    purpose = fields.String(required=True)
    status = fields.String(required=True)
    at = fields.AwareDateTime(required=True, default_timezone=dt.timezone.utc)


class Me(StrictSchema):
    """The driver's home data: profile plus the vehicle and contract they drive."""
    person_id = fields.String()
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    vehicle_id = fields.String(allow_none=True)
    registration_number = fields.String(allow_none=True)
    contract_starts_on = fields.Date(allow_none=True)
    contract_ends_on = fields.Date(allow_none=True)
    contract_length_months = fields.Integer(allow_none=True)
    add_on_services = fields.List(fields.String())
    included_km = fields.Integer(allow_none=True)
    start_km = fields.Integer(allow_none=True)
    make = fields.String(allow_none=True)
    model = fields.String(allow_none=True)
    contract_id = fields.String(allow_none=True)
    contract_type = fields.String(allow_none=True)
    contract_status = fields.String(allow_none=True)


TRIP_TYPES = ("work", "private")


class TripCreate(StrictSchema):
    client_id = Id(load_default=None, allow_none=True,
                   metadata={"description": "Idempotency key made by the client (a UUID): an entry sent again "
                                            "with the same key is stored once and the first one is returned"})
    started_at = fields.AwareDateTime(required=True, metadata={"description": "Local start time with its offset"})
    ended_at = fields.AwareDateTime(required=True, metadata={"description": "Local end time with its offset"})
    date = fields.Date(load_default=None, metadata={"description": "Defaults to the local date of started_at"})
    odometer_start = fields.Integer(required=True, validate=validate.Range(min=0, max=9_999_999))
    odometer_end = fields.Integer(required=True, validate=validate.Range(min=0, max=9_999_999))
    trip_type = fields.String(required=True, validate=validate.OneOf(TRIP_TYPES))
    start_point = fields.String(required=True, validate=validate.Length(min=1, max=200))
    end_point = fields.String(required=True, validate=validate.Length(min=1, max=200))
    purpose = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    gap_explanation = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=500))

    @validates_schema
    def check(self, data, **kwargs):
        if data["ended_at"] < data["started_at"]:
            raise ValidationError("Must not be before started_at.", "ended_at")
        if data["date"] is not None and data["date"] != data["started_at"].date():
            raise ValidationError("Must be the local date of started_at.", "date")
        if data["odometer_end"] < data["odometer_start"]:
            raise ValidationError("Must be at least odometer_start.", "odometer_end")
        if data["trip_type"] == "work" and not (data.get("purpose") or "").strip():
            raise ValidationError("Required for a work trip.", "purpose")

    @post_load
    def default_date(self, data, **kwargs):
        return {**data, "date": data["date"] or data["started_at"].date()}


class Trip(StrictSchema):
    id = fields.String()
    vehicle_id = fields.String()
    person_id = fields.String(allow_none=True)
    organisation_id = fields.String(allow_none=True)
    date = fields.Date()
    started_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    odometer_start = fields.Integer()
    odometer_end = fields.Integer()
    km = fields.Integer()
    trip_type = fields.String()
    start_point = fields.String(allow_none=True)  # null: a private trip as a fleet manager sees it
    end_point = fields.String(allow_none=True)
    purpose = fields.String(allow_none=True)
    gap_explanation = fields.String(allow_none=True)
    client_id = fields.String(allow_none=True)
    added_by = fields.String(allow_none=True)
    added_by_name = fields.String(allow_none=True)
    added_at = fields.DateTime()


class TripFilter(QuerySchema):
    year = fields.Integer(validate=validate.Range(min=1990, max=2100))


class TripLoggedEvent(StrictSchema):
    trip_id = fields.String(attribute="id")
    vehicle_id = fields.String()
    person_id = fields.String(allow_none=True)
    organisation_id = fields.String(allow_none=True)
    date = fields.Date()
    odometer_end = fields.Integer()


class FuelingRecorded(StrictSchema):
    """One fueling of driver.fueling_recorded."""
    fueling_id = fields.String(attribute="id")
    event_id = fields.String()
    vehicle_id = fields.String()
    registration_number = fields.String()
    person_id = fields.String(allow_none=True)
    organisation_id = fields.String(allow_none=True)  # the vehicle's user organisation then
    product = fields.String()
    company = fields.String()
    municipality = fields.String()
    station = fields.String()
    liters = fields.Decimal(as_string=True)
    amount_eur = fields.Decimal(as_string=True, allow_none=True)
    fueled_at = fields.DateTime()


class FuelingRecordedEvent(StrictSchema):
    """driver.fueling_recorded: the fuelings one unit of work matched — a batch of partner
    messages, or the waiting fuelings a new phone or plate matched. Built by
    fueling_recorded_event, whichever path sends it."""
    fuelings = fields.List(fields.Nested(FuelingRecorded))


RECORDED_FIELDS = ("event_id", "vehicle_id", "registration_number", "person_id", "organisation_id", "product",
                   "company", "municipality", "station")


def fueling_recorded_event(fuelings) -> dict:
    """The payload of driver.fueling_recorded (FuelingRecordedEvent().dump's result) for Fueling
    rows or their column dicts, written out: marshmallow would cost the partner batch path more
    than storing the fuelings does (services/driver/tests: the two agree)."""
    return {"fuelings": [_recorded(fueling) for fueling in fuelings]}


def _recorded(values) -> dict:
    get = values.get if isinstance(values, dict) else functools.partial(getattr, values)
    amount = get("amount_eur")
    return {"fueling_id": get("id"), **{name: get(name) for name in RECORDED_FIELDS}, "liters": str(get("liters")),
            "amount_eur": None if amount is None else str(amount), "fueled_at": get("fueled_at").isoformat()}


class YearQuery(QuerySchema):
    year = fields.Integer(required=True, validate=validate.Range(min=1990, max=2100))


class TripExportQuery(YearQuery):
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "pdf")))


class TripSummary(StrictSchema):
    year = fields.Integer()
    trips = fields.Integer()
    work_km = fields.Integer()
    private_km = fields.Integer()
    total_km = fields.Integer()
    first_odometer = fields.Integer(allow_none=True, metadata={"description": "Odometer at the start of the "
                                                                              "year's first entry"})
    last_odometer = fields.Integer(allow_none=True, metadata={"description": "Odometer at the end of the "
                                                                             "year's last entry"})


class TireStorageUpdate(StrictSchema):
    location = fields.String(required=True, validate=validate.Length(min=1, max=200))


class TireStorage(StrictSchema):
    vehicle_id = fields.String()
    registration_number = fields.String(allow_none=True)
    location = fields.String(attribute="tire_storage", allow_none=True)
    updated_at = fields.DateTime(attribute="tire_storage_updated_at", allow_none=True)


class WashCreate(StrictSchema):
    wash_at = fields.AwareDateTime(required=True)
    wash = fields.String(required=True, validate=validate.Length(min=1, max=100))
    place = fields.String(required=True, validate=validate.Length(min=1, max=200))
    phone = Phone(load_default=None)

    @validates("wash_at")
    def in_future(self, value, **kwargs):
        if value <= utcnow():
            raise ValidationError("Must be in the future.")


class Wash(StrictSchema):
    id = fields.String()
    vehicle_id = fields.String()
    registration_number = fields.String()
    phone = fields.String(allow_none=True)
    wash_at = fields.DateTime()
    wash = fields.String()
    place = fields.String()
    created_at = fields.DateTime()
    cancelled_at = fields.DateTime(allow_none=True)


class LocationCreate(StrictSchema):
    lat = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=-180, max=180))
    at = fields.AwareDateTime(required=True)


class LocationPing(StrictSchema):
    id = fields.String()
    lat = fields.Float()
    lon = fields.Float()
    at = fields.DateTime()


class PartnerFueling(EventSchema):
    """A partner's fueling message (SPEC §4); amount_eur is an optional extra."""
    event_id = Id(required=True)
    partner = fields.String(required=True, validate=validate.Length(min=1, max=50))
    phone = Phone(required=True)
    registration_number = RegistrationNumber(required=True)
    product = fields.String(required=True, validate=validate.Length(min=1, max=100))
    company = fields.String(required=True, validate=validate.Length(min=1, max=100))
    municipality = fields.String(required=True, validate=validate.Length(min=1, max=100))
    station = fields.String(required=True, validate=validate.Length(min=1, max=200))
    liters = fields.Decimal(required=True, places=3, allow_nan=False,
                            validate=validate.Range(min=0, max=100000, min_inclusive=False))
    amount_eur = Money(load_default=None, allow_none=True,
                       validate=validate.Range(min=Decimal("0"), max=Decimal("9999999999.99")))
    fueled_at = fields.AwareDateTime(required=True)


# --- partner messages: the hot path of the partner fueling consumer ---------------------

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")
MONEY_RE = re.compile(r"^\d{1,10}(\.\d{1,2})?$")
TEXT_LIMITS = {"partner": 50, "product": 100, "company": 100, "municipality": 100, "station": 200}
MAX_PHONE_LENGTH, MAX_PLATE_LENGTH = 32, 16
# A partner message body over this size is dead-lettered unparsed (and truncated to it there).
PARTNER_MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 8  # a fueling is one flat object; an extra field may nest a little
LITERS_PLACES, MONEY_PLACES, MAX_LITERS = Decimal("0.001"), Decimal("0.01"), Decimal(100000)

_phone = functools.lru_cache(maxsize=65536)(validators.phone)
_plate = functools.lru_cache(maxsize=65536)(validators.registration_number)


def fast_parse(data) -> dict | None:
    """The canonical, common form of a partner message, validated without marshmallow
    (which costs ~200 µs a message). Never more lenient than PartnerFueling:
    anything unusual returns None and goes through the schema, which then decides."""
    try:
        if not UUID_RE.match(data["event_id"]) or not ISO_RE.match(data["fueled_at"]):
            return None
        fueling = {"event_id": data["event_id"]}
        for field, limit in TEXT_LIMITS.items():
            value = data[field]
            if type(value) is not str or not 0 < len(value) <= limit:
                return None
            fueling[field] = value
        phone, plate = data["phone"], data["registration_number"]
        if type(phone) is not str or type(plate) is not str or len(phone) > MAX_PHONE_LENGTH \
                or len(plate) > MAX_PLATE_LENGTH:
            return None
        fueling["phone"], fueling["registration_number"] = _phone(phone), _plate(plate)
        liters = data["liters"]
        if type(liters) not in (int, float):
            return None
        fueling["liters"] = Decimal(str(liters)).quantize(LITERS_PLACES)
        if not (fueling["liters"].is_finite() and 0 < fueling["liters"] <= MAX_LITERS):
            return None
        amount = data.get("amount_eur")
        if amount is not None and (type(amount) is not str or not MONEY_RE.match(amount)):
            return None
        fueling["amount_eur"] = None if amount is None else Decimal(amount).quantize(MONEY_PLACES)
        fueling["fueled_at"] = dt.datetime.fromisoformat(data["fueled_at"].replace("Z", "+00:00"))
        return fueling
    except (TypeError, KeyError, ValueError, ArithmeticError):
        return None


def nesting_exceeds(body: bytes, limit: int) -> bool:
    """Whether the JSON text nests objects/arrays deeper than `limit` (brackets inside strings
    do not count). Linear in the body, which the caller has bounded; no parsing."""
    if body.count(b"{") + body.count(b"[") <= limit:
        return False
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x7B, 0x5B):  # { [
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x7D, 0x5D):  # } ]
            depth -= 1
    return False


def parse_partner_message(body: bytes, routing_key: str) -> dict:
    """The validated fueling, or ValidationFailed with a reason fit for x-reject-reason.
    The partner named in the body must be the one of the routing key (which the broker's
    topic permissions bind to the partner's own user). Size and nesting are checked before
    the body is parsed."""
    if len(body) > PARTNER_MAX_BODY_BYTES:
        raise ValidationFailed("too_large", {"_body": [f"{len(body)} bytes; at most {PARTNER_MAX_BODY_BYTES}."]})
    if nesting_exceeds(body, MAX_DEPTH):
        raise ValidationFailed("too_deep", {"_body": [f"JSON nested deeper than {MAX_DEPTH} levels."]})
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed("invalid_json", {"_body": [f"Not valid JSON: {exc}"[:200]]}) from None
    fueling = fast_parse(data) if type(data) is dict else None
    if fueling is None:
        try:
            fueling = load(PARTNER_SCHEMA, data)
        except ValidationFailed as error:
            raise ValidationFailed("invalid_fields", error.details) from None
    if b"\\u0000" in body:  # the only way strict JSON text carries a NUL
        nul = [field for field, value in fueling.items() if isinstance(value, str) and "\x00" in value]
        if nul:
            raise ValidationFailed("invalid_fields", {field: ["NUL characters are not allowed."] for field in nul})
    if routing_key != f"fueling.{fueling['partner']}":
        raise ValidationFailed("partner_mismatch", {"partner": [f"Does not match the routing key {routing_key!r}."]})
    return fueling


def reject_reason(error: ValidationFailed) -> str:
    return f"{error.message}: {json.dumps(error.details, ensure_ascii=False, default=str)}"[:1000]


PARTNER_SCHEMA = PartnerFueling()


class Fueling(StrictSchema):
    id = fields.String()
    event_id = fields.String()
    partner = fields.String()
    vehicle_id = fields.String(allow_none=True)
    person_id = fields.String(allow_none=True)
    organisation_id = fields.String(allow_none=True)
    registration_number = fields.String()
    product = fields.String()
    company = fields.String()
    municipality = fields.String()
    station = fields.String()
    liters = fields.Decimal(as_string=True)
    amount_eur = Money(allow_none=True)
    fueled_at = fields.DateTime()
    matched = fields.Function(lambda row: row.matched_at is not None)


class Home(Me):
    """The driver's home screen as the driver service knows it."""
    latest_fuelings = fields.List(fields.Nested(Fueling))
    next_wash = fields.Nested(Wash, allow_none=True)


class HomeView(Home):
    """GET /me as the gateway aggregates it: fleet adds the car's power source and CO2 and
    the contract's months left; `degraded` names a service that did not answer."""
    power_source = fields.String(allow_none=True)
    co2_g_per_km = fields.Integer(allow_none=True)
    remaining_months = fields.Integer(allow_none=True)
    degraded = fields.List(fields.String())


class FuelingExport(Fueling):
    """In the person's export also the phone number the partner sent (removed on erasure)."""
    phone = fields.String(allow_none=True)
