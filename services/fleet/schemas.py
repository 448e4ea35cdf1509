"""The fleet service's public contract: what its RPC methods take and answer, the events it
publishes (if any) and the enums they use. The gateway and the service both import it; it imports no
ORM, no nameko and nothing else of the service (models take their enums from here).
"""
import datetime as dt
import re
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from shared.schemas import (EventSchema, Id, Money, Phone, PostalCode, QuerySchema, RegistrationNumber, StrictSchema,
                            Vin, load)
from shared.validators import storable

VEHICLE_CLASSES = ("passenger_car", "van", "truck", "bus", "trailer", "motorcycle", "other")
POWER_SOURCES = ("petrol", "diesel", "electric", "hybrid", "plugin_hybrid", "gas", "other")
VEHICLE_STATUSES = ("ordered", "awaiting_delivery", "in_use", "returned", "sold")
CONTRACT_STATUSES = ("ordered", "awaiting_delivery", "active", "ended", "terminated")
ODOMETER_SOURCES = ("service_invoice", "customer", "driver_log", "fueling")
SERVICE_EVENT_KINDS = ("maintenance", "wash")

Text = fields.String
MONTH = validate.Regexp(r"^(19|20)\d{2}-(0[1-9]|1[0-2])$", error="Use YYYY-MM (1900-2099).")
KM = validate.Range(min=0, max=5_000_000)


def _name(length=100, **kwargs):
    return Text(validate=validate.Length(min=1, max=length), **kwargs)


def _optional(length=200):
    return Text(validate=validate.Length(max=length), allow_none=True)


# vehicles
class VehicleCreate(StrictSchema):
    registration_number = RegistrationNumber(required=True)
    vin = Vin(required=True)
    make = _name(required=True)
    model = _name(required=True)
    first_registration_date = fields.Date(allow_none=True)
    vehicle_class = Text(required=True, validate=validate.OneOf(VEHICLE_CLASSES))
    power_source = Text(required=True, validate=validate.OneOf(POWER_SOURCES))
    co2_g_per_km = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=2000))
    registration_certificate = _optional()
    user_organisation_id = Id(required=True)
    cost_center = _optional(100)
    driver_person_id = Id(allow_none=True)
    status = Text(validate=validate.OneOf(VEHICLE_STATUSES))


class VehicleUpdate(VehicleCreate):
    """Every field optional (PATCH); a driver, organisation or cost center change is kept in history."""


class Vehicle(StrictSchema):
    id = Text()
    registration_number = Text()
    vin = Text()
    make = Text()
    model = Text()
    first_registration_date = fields.Date(allow_none=True)
    vehicle_class = Text()
    power_source = Text()
    co2_g_per_km = fields.Integer(allow_none=True)
    registration_certificate = Text(allow_none=True)
    user_organisation_id = Text()
    cost_center = Text(allow_none=True)
    driver_person_id = Text(allow_none=True)
    status = Text()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class VehicleFilter(StrictSchema):
    status = Text(validate=validate.OneOf(VEHICLE_STATUSES))
    cost_center = Text()
    driver_person_id = Id()
    user_organisation_id = Id()
    vehicle_class = Text(validate=validate.OneOf(VEHICLE_CLASSES))
    power_source = Text(validate=validate.OneOf(POWER_SOURCES))
    registration_number = RegistrationNumber()
    contract_ends_before = fields.Date()


class Assignment(StrictSchema):
    id = Text()
    vehicle_id = Text()
    driver_person_id = Text(allow_none=True)
    user_organisation_id = Text()
    cost_center = Text(allow_none=True)
    changed_at = fields.DateTime()
    changed_by = Text(allow_none=True)


class VehicleAssignedEvent(Schema):
    vehicle_id = Text(attribute="id")
    registration_number = Text()
    driver_person_id = Text(allow_none=True)
    previous_driver_person_id = Text(allow_none=True)
    user_organisation_id = Text()
    make = Text()
    model = Text()
    power_source = Text()
    co2_g_per_km = fields.Integer(allow_none=True)
    status = Text()


# contracts
class _ContractFields(StrictSchema):
    contract_type = _name(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date()
    length_months = fields.Integer(required=True, validate=validate.Range(min=1, max=120))
    residual_value = Money()  # absent: 0 (the column has no null)
    lease_rent = Money(required=True)
    maintenance_budget = Money()
    account_fee = Money()
    included_km = fields.Integer(required=True, validate=KM)
    start_km = fields.Integer(validate=KM)
    replacement_car = fields.Boolean()
    replacement_car_class = _optional(50)
    financing_company = _optional()
    insurance_company = _optional()
    insurance_deductible = Money(allow_none=True)
    notes = Text(validate=validate.Length(max=4000), allow_none=True)
    add_on_services = fields.List(_name(100), validate=validate.Length(max=20))

    @validates_schema
    def _dates(self, data, **kwargs):
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            raise ValidationError("Must not be before starts_on.", "ends_on")


class ContractCreate(_ContractFields):
    vehicle_id = Id(required=True)
    customer_id = Id(required=True)
    status = Text(validate=validate.OneOf(CONTRACT_STATUSES[:2]))


class ContractUpdate(_ContractFields):
    """PATCH: any field; `status` moves along the state machine (illegal → 409)."""
    status = Text(validate=validate.OneOf(CONTRACT_STATUSES))


class Contract(StrictSchema):
    id = Text()
    vehicle_id = Text()
    registration_number = Text(attribute="vehicle.registration_number")
    user_organisation_id = Text(attribute="vehicle.user_organisation_id")
    customer_id = Text()
    contract_type = Text()
    status = Text()
    next_statuses = fields.List(Text(), metadata={"description": "Statuses the contract may move to next"})
    starts_on = fields.Date()
    ends_on = fields.Date()
    length_months = fields.Integer()
    remaining_months = fields.Integer()
    residual_value = Money(allow_none=True)
    lease_rent = Money()
    maintenance_budget = Money()
    account_fee = Money()
    monthly_total = Money()
    included_km = fields.Integer()
    start_km = fields.Integer()
    replacement_car = fields.Boolean()
    replacement_car_class = Text(allow_none=True)
    financing_company = Text(allow_none=True)
    insurance_company = Text(allow_none=True)
    insurance_deductible = Money(allow_none=True)
    notes = Text(allow_none=True)
    add_on_services = fields.List(Text())
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ContractFilter(StrictSchema):
    status = Text(validate=validate.OneOf(CONTRACT_STATUSES))
    vehicle_id = Id()
    customer_id = Id()
    cost_center = Text()
    driver_person_id = Id()
    ends_before = fields.Date()


class ContractChangedEvent(Schema):
    contract_id = Text(attribute="id")
    vehicle_id = Text()
    registration_number = Text(attribute="vehicle.registration_number")
    driver_person_id = Text(attribute="vehicle.driver_person_id", allow_none=True)
    customer_id = Text()
    status = Text()
    contract_type = Text()
    starts_on = fields.Date()
    ends_on = fields.Date()
    length_months = fields.Integer()
    add_on_services = fields.List(Text())
    included_km = fields.Integer()
    start_km = fields.Integer()


class BillableContract(Schema):
    contract_id = Text(attribute="id")
    customer_id = Text()
    vehicle_id = Text()
    registration_number = Text(attribute="vehicle.registration_number")
    contract_type = Text()
    lease_rent = Money()
    maintenance_budget = Money()
    account_fee = Money()
    monthly_total = Money()
    add_on_services = fields.List(Text())
    starts_on = fields.Date()
    ends_on = fields.Date()


class BillingPeriod(StrictSchema):
    period = Text(required=True, validate=MONTH)


# dealerships and deliveries
class DealershipCreate(StrictSchema):
    name = _name(200, required=True)
    street_address = _optional()
    postal_code = PostalCode(allow_none=True)
    city = _optional(100)
    seller_name = _optional()
    phone = Phone(allow_none=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))


class DealershipUpdate(DealershipCreate):
    pass


class Dealership(StrictSchema):
    id = Text()
    name = Text()
    street_address = Text(allow_none=True)
    postal_code = Text(allow_none=True)
    city = Text(allow_none=True)
    seller_name = Text(allow_none=True)
    phone = Text(allow_none=True)
    email = Text(allow_none=True)
    created_at = fields.DateTime()


class DeliveryCreate(StrictSchema):
    vehicle_id = Id(required=True)
    contract_id = Id(allow_none=True)
    dealership_id = Id(allow_none=True)
    order_number = _optional(100)
    order_info = Text(validate=validate.Length(max=4000), allow_none=True)
    ordered_on = fields.Date(allow_none=True)
    estimated_delivery_on = fields.Date(allow_none=True)
    confirmed_delivery_on = fields.Date(allow_none=True)


class DeliveryUpdate(StrictSchema):
    dealership_id = Id(allow_none=True)
    order_number = _optional(100)
    order_info = Text(validate=validate.Length(max=4000), allow_none=True)
    ordered_on = fields.Date(allow_none=True)
    estimated_delivery_on = fields.Date(allow_none=True)
    confirmed_delivery_on = fields.Date(allow_none=True)
    delivered_on = fields.Date(allow_none=True)


class Delivery(StrictSchema):
    id = Text()
    vehicle_id = Text()
    registration_number = Text(attribute="vehicle.registration_number")
    user_organisation_id = Text(attribute="vehicle.user_organisation_id")
    contract_id = Text(allow_none=True)
    dealership_id = Text(allow_none=True)
    order_number = Text(allow_none=True)
    order_info = Text(allow_none=True)
    ordered_on = fields.Date(allow_none=True)
    estimated_delivery_on = fields.Date(allow_none=True)
    confirmed_delivery_on = fields.Date(allow_none=True)
    delivered_on = fields.Date(allow_none=True)
    organisation_id = Text(allow_none=True)
    created_at = fields.DateTime()


class DeliveryFilter(QuerySchema):
    pending = fields.Boolean()
    dealership_id = Id()
    contract_id = Id()


# usage
class OdometerCreate(StrictSchema):
    km = fields.Integer(required=True, validate=KM)
    read_on = fields.Date(required=True)
    source = Text(required=True, validate=validate.OneOf(ODOMETER_SOURCES))


class OdometerReading(StrictSchema):
    id = Text()
    vehicle_id = Text()
    km = fields.Integer()
    read_on = fields.Date()
    source = Text()
    organisation_id = Text(allow_none=True)
    created_at = fields.DateTime()


class ServiceEventCreate(StrictSchema):
    occurred_on = fields.Date(required=True)
    kind = Text(required=True, validate=validate.OneOf(SERVICE_EVENT_KINDS))
    place_name = _optional()
    km = fields.Integer(allow_none=True, validate=KM)
    description = Text(validate=validate.Length(max=4000), allow_none=True)


class ServiceEvent(StrictSchema):
    id = Text()
    vehicle_id = Text()
    occurred_on = fields.Date()
    kind = Text()
    place_name = Text(allow_none=True)
    km = fields.Integer(allow_none=True)
    description = Text(allow_none=True)
    organisation_id = Text(allow_none=True)
    created_at = fields.DateTime()


class NoFilter(StrictSchema):
    pass


class RecordedFueling(EventSchema):
    fueling_id = Id(required=True)
    event_id = Id(allow_none=True, load_default=None)
    vehicle_id = Id(required=True)
    person_id = Id(allow_none=True, load_default=None)
    organisation_id = Id(allow_none=True, load_default=None)
    product = Text(allow_none=True, load_default=None)
    company = Text(allow_none=True, load_default=None)
    municipality = Text(allow_none=True, load_default=None)
    station = Text(allow_none=True, load_default=None)
    liters = fields.Decimal(required=True, places=2)
    amount_eur = fields.Decimal(allow_none=True, load_default=None, places=2)
    fueled_at = fields.AwareDateTime(required=True, default_timezone=dt.timezone.utc)


class FuelingRecordedEvent(EventSchema):
    """driver.fueling_recorded: the fuelings the driver service matched, one or a batch."""
    fuelings = fields.List(fields.Nested(RecordedFueling), required=True)

    @pre_load
    def _one_fueling(self, data, **kwargs):
        """An event of a driver service before the batches (still queued at an upgrade) is one fueling."""
        return {"fuelings": [data]} if isinstance(data, dict) and "fueling_id" in data else data


UUID_TEXT = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DECIMAL_TEXT = re.compile(r"^[0-9]{1,10}(\.[0-9]{1,3})?$")
AWARE_ISO_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}:\d{2}$")
TWO_PLACES = Decimal("0.01")


def recorded_fuelings(payload) -> list[dict]:
    """The fuelings of driver.fueling_recorded as FuelingRecordedEvent loads them. The form the
    driver sends is checked without marshmallow, which would cost fleet more than storing them
    does; anything else goes through the schema, which decides (tests: the two agree)."""
    items = payload.get("fuelings") if type(payload) is dict else None
    fast = [_fast_fueling(item) for item in items] if type(items) is list else [None]
    return fast if None not in fast else load(FuelingRecordedEvent(), payload)["fuelings"]


def _fast_fueling(item) -> dict | None:
    try:
        fueling = {name: item[name] for name in ("fueling_id", "vehicle_id")}
        if not all(type(value) is str and UUID_TEXT.match(value) for value in fueling.values()):
            return None
        for name in ("event_id", "person_id", "organisation_id"):
            value = fueling[name] = item.get(name)
            if value is not None and not (type(value) is str and UUID_TEXT.match(value)):
                return None
        for name in ("product", "company", "municipality", "station"):
            value = fueling[name] = item.get(name)
            if value is not None and not (type(value) is str and storable(value)):
                return None
        liters, amount, fueled_at = item["liters"], item.get("amount_eur"), item["fueled_at"]
        if not (type(liters) is str and DECIMAL_TEXT.match(liters) and type(fueled_at) is str
                and AWARE_ISO_TEXT.match(fueled_at)) or not (amount is None or type(amount) is str
                                                              and DECIMAL_TEXT.match(amount)):
            return None
        fueling["liters"] = Decimal(liters).quantize(TWO_PLACES)
        fueling["amount_eur"] = None if amount is None else Decimal(amount).quantize(TWO_PLACES)
        fueling["fueled_at"] = dt.datetime.fromisoformat(fueled_at)
        return fueling
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


class TripLoggedEvent(EventSchema):
    trip_id = Id(required=True)
    vehicle_id = Id(required=True)
    date = fields.Date(required=True)
    odometer_end = fields.Integer(required=True, validate=KM)
    organisation_id = Id(allow_none=True, load_default=None)


class Fueling(StrictSchema):
    fueling_id = Text()
    vehicle_id = Text()
    person_id = Text(allow_none=True)
    organisation_id = Text(allow_none=True)
    product = Text(allow_none=True)
    company = Text(allow_none=True)
    municipality = Text(allow_none=True)
    station = Text(allow_none=True)
    liters = fields.Decimal(as_string=True)
    amount_eur = Money(allow_none=True)
    fueled_at = fields.DateTime()


# aggregated vehicle
class VehicleDetail(Vehicle):
    contract = fields.Nested(Contract, allow_none=True)
    latest_odometer = fields.Nested(OdometerReading, allow_none=True)
    delivery = fields.Nested(Delivery, allow_none=True)


class DriverName(StrictSchema):
    person_id = Text()
    first_name = Text()
    last_name = Text()


class VehicleView(VehicleDetail):
    """GET /vehicles/{id} as the gateway aggregates it (fleet + driver + identity)."""
    driver = fields.Nested(DriverName, allow_none=True)
    usage = fields.Dict(allow_none=True)
    degraded = fields.List(Text())


# reports
class ScopeQuery(QuerySchema):
    """Every report: `organisation_id` narrows it to one company of the caller's scope
    (the gateway takes it off before the service sees the query)."""
    organisation_id = Id()


class EndingQuery(ScopeQuery):
    days = fields.Integer(load_default=90, validate=validate.Range(min=0, max=3650))


class FuelQuery(ScopeQuery):
    from_month = Text(data_key="from", validate=MONTH)
    to_month = Text(data_key="to", validate=MONTH)


class EndingRow(StrictSchema):
    contract_id = Text()
    vehicle_id = Text()
    registration_number = Text()
    user_organisation_id = Text()
    cost_center = Text(allow_none=True)
    driver_person_id = Text(allow_none=True)
    customer_id = Text()
    contract_type = Text()
    ends_on = fields.Date()
    days_left = fields.Integer()
    monthly_total = Money()


class OverrunRow(StrictSchema):
    contract_id = Text()
    vehicle_id = Text()
    registration_number = Text()
    user_organisation_id = Text()
    cost_center = Text(allow_none=True)
    starts_on = fields.Date()
    ends_on = fields.Date()
    included_km = fields.Integer()
    start_km = fields.Integer()
    latest_km = fields.Integer(allow_none=True)
    latest_read_on = fields.Date(allow_none=True)
    driven_km = fields.Integer(allow_none=True)
    allowed_km_to_date = fields.Integer(allow_none=True)
    projected_km_at_end = fields.Integer(allow_none=True)
    projected_overrun_km = fields.Integer(allow_none=True)


class Co2Row(StrictSchema):
    user_organisation_id = Text()
    cost_center = Text(allow_none=True)
    vehicle_count = fields.Integer()
    total_co2_g_per_km = fields.Integer()
    average_co2_g_per_km = fields.Decimal(as_string=True, places=1, allow_none=True)


class FuelRow(StrictSchema):
    vehicle_id = Text()
    registration_number = Text()
    user_organisation_id = Text()
    cost_center = Text(allow_none=True)
    month = Text()
    fuelings = fields.Integer()
    liters = fields.Decimal(as_string=True, places=2)
    amount_eur = Money()


# dashboard and cost reports
def _this_month() -> str:
    return f"{dt.date.today():%Y-%m}"


def _a_year_ago() -> str:
    today = dt.date.today()
    return f"{today.year - 1}-{today.month:02d}" if today.month < 12 else f"{today.year}-01"


class PeriodQuery(ScopeQuery):
    """`from` and `to` (YYYY-MM, inclusive); by default the last twelve months."""
    from_month = Text(data_key="from", validate=MONTH, load_default=_a_year_ago)
    to_month = Text(data_key="to", validate=MONTH, load_default=_this_month)

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data["from_month"] > data["to_month"]:
            raise ValidationError("Must not be after 'to'.", "from")


class _Costs(StrictSchema):
    customer_id = Text()
    cost_center = Text(allow_none=True)
    lease_eur = Money()
    maintenance_eur = Money()
    fuel_eur = Money()
    total_eur = Money()
    cost_per_km = Money(allow_none=True)


class CostRow(_Costs):
    contract_id = Text()
    vehicle_id = Text()
    registration_number = Text()
    months = fields.Integer()
    driven_km = fields.Integer(allow_none=True)


class CostCenterRow(_Costs):
    vehicle_count = fields.Integer()
    driven_km = fields.Integer()


class StatusCountRow(StrictSchema):
    status = Text()
    vehicle_count = fields.Integer()


class FuelMonthRow(StrictSchema):
    month = Text()
    fuelings = fields.Integer()
    liters = fields.Decimal(as_string=True, places=2)
    amount_eur = Money()


class FleetSettings(StrictSchema):
    organisation_id = Text(dump_only=True)
    contract_reminder_days = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=730))
