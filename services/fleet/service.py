from shared.db import dry_run, page
from shared.logging import configure
from shared.messaging import FUELING_RECORDED, TRIP_LOGGED, event_handler, rpc
from shared.retention import RetentionEntrypoints
from shared.schemas import load
from shared.service_base import Actor, ServiceBase

from services.fleet import models, retention, schemas
from services.fleet.dependencies import Database
from services.fleet.handlers import (contracts, dealerships, deliveries, fuelings, odometer, privacy, reports,
                                     service_events, settings, vehicle_detail, vehicles)

configure("fleet")


class FleetService(RetentionEntrypoints, ServiceBase):
    name = "fleet"
    db = Database("fleet")
    retention_rules = retention.RULES
    retention_lease = models.RetentionLease
    actor = Actor()

    # vehicles
    @rpc
    def create_vehicle(self, payload):
        vehicle = vehicles.create_vehicle(self.db, load(schemas.VehicleCreate(), payload), self.actor["account_id"])
        return schemas.Vehicle().dump(vehicle)

    @rpc
    def get_vehicle(self, vehicle_id, scope):
        return schemas.Vehicle().dump(vehicles.get_vehicle(self.db, vehicle_id, scope))

    @rpc
    def require_held_vehicle(self, vehicle_id, scope):
        """NotFound unless the caller's organisations use or used the vehicle."""
        vehicles.held_vehicle(self.db, vehicle_id, scope)

    @rpc
    def get_vehicle_detail(self, vehicle_id, scope):
        return schemas.VehicleDetail().dump(vehicle_detail.vehicle_detail(self.db, vehicle_id, scope))

    @rpc
    def update_vehicle(self, vehicle_id, payload):
        data = load(schemas.VehicleUpdate(), payload, partial=True)
        vehicle = vehicles.update_vehicle(self.db, vehicle_id, data, self.actor["account_id"])
        return schemas.Vehicle().dump(vehicle)

    @rpc
    def list_vehicles(self, scope, filters, limit, cursor=None):
        rows, next_cursor = vehicles.list_vehicles(self.db, load(schemas.VehicleFilter(), filters), limit, cursor,
                                                   scope)
        return page(schemas.Vehicle(many=True).dump(rows), next_cursor)

    @rpc
    def vehicle_history(self, vehicle_id, scope, limit, cursor=None):
        rows, next_cursor = vehicles.vehicle_history(self.db, vehicle_id, scope, limit, cursor)
        return page(schemas.Assignment(many=True).dump(rows), next_cursor)

    # contracts
    @rpc
    def create_contract(self, payload):
        contract = contracts.create_contract(self.db, load(schemas.ContractCreate(), payload))
        return schemas.Contract().dump(contract)

    @rpc
    def get_contract(self, contract_id, scope):
        return schemas.Contract().dump(contracts.get_contract(self.db, contract_id, scope))

    @rpc
    def update_contract(self, contract_id, payload):
        contract = contracts.update_contract(self.db, contract_id,
                                             load(schemas.ContractUpdate(), payload, partial=True))
        return schemas.Contract().dump(contract)

    @rpc
    def list_contracts(self, scope, filters, limit, cursor=None):
        rows, next_cursor = contracts.list_contracts(self.db, load(schemas.ContractFilter(), filters), limit, cursor,
                                                     scope)
        return page(schemas.Contract(many=True).dump(rows), next_cursor)

    @rpc
    def contracts_for_billing(self, period):
        period = load(schemas.BillingPeriod(), {"period": period})["period"]
        return schemas.BillableContract(many=True).dump(contracts.contracts_for_billing(self.db, period))

    # dealerships and deliveries
    @rpc
    def create_dealership(self, payload):
        return schemas.Dealership().dump(dealerships.create_dealership(self.db, load(schemas.DealershipCreate(),
                                                                                     payload)))

    @rpc
    def get_dealership(self, dealership_id):
        return schemas.Dealership().dump(dealerships.get_dealership(self.db, dealership_id))

    @rpc
    def update_dealership(self, dealership_id, payload):
        data = load(schemas.DealershipUpdate(), payload, partial=True)
        return schemas.Dealership().dump(dealerships.update_dealership(self.db, dealership_id, data))

    @rpc
    def list_dealerships(self, filters, limit, cursor=None):
        load(schemas.NoFilter(), filters)
        rows, next_cursor = dealerships.list_dealerships(self.db, limit, cursor)
        return page(schemas.Dealership(many=True).dump(rows), next_cursor)

    @rpc
    def create_delivery(self, payload):
        return schemas.Delivery().dump(deliveries.create_delivery(self.db, load(schemas.DeliveryCreate(), payload)))

    @rpc
    def get_delivery(self, delivery_id, scope):
        return schemas.Delivery().dump(deliveries.get_delivery(self.db, delivery_id, scope))

    @rpc
    def update_delivery(self, delivery_id, payload):
        data = load(schemas.DeliveryUpdate(), payload, partial=True)
        return schemas.Delivery().dump(deliveries.update_delivery(self.db, delivery_id, data))

    @rpc
    def list_deliveries(self, scope, filters, limit, cursor=None):
        rows, next_cursor = deliveries.list_deliveries(self.db, load(schemas.DeliveryFilter(), filters), limit, cursor,
                                                       scope)
        return page(schemas.Delivery(many=True).dump(rows), next_cursor)

    # usage
    @rpc
    def add_reading(self, vehicle_id, payload):
        reading = odometer.add_reading(self.db, vehicle_id, load(schemas.OdometerCreate(), payload))
        return schemas.OdometerReading().dump(reading)

    @rpc
    def list_readings(self, vehicle_id, scope, limit, cursor=None):
        rows, next_cursor = odometer.list_readings(self.db, vehicle_id, scope, limit, cursor)
        return page(schemas.OdometerReading(many=True).dump(rows), next_cursor)

    @rpc
    def add_service_event(self, vehicle_id, payload):
        event = service_events.add_service_event(self.db, vehicle_id, load(schemas.ServiceEventCreate(), payload))
        return schemas.ServiceEvent().dump(event)

    @rpc
    def list_service_events(self, vehicle_id, scope, limit, cursor=None):
        rows, next_cursor = service_events.list_service_events(self.db, vehicle_id, scope, limit, cursor)
        return page(schemas.ServiceEvent(many=True).dump(rows), next_cursor)

    @event_handler("driver", FUELING_RECORDED)
    def on_fueling_recorded(self, payload):
        fuelings.record_fuelings(self.db, schemas.recorded_fuelings(payload))

    @event_handler("driver", TRIP_LOGGED)
    def on_trip_logged(self, payload):
        odometer.record_trip(self.db, load(schemas.TripLoggedEvent(), payload))

    # reports
    @rpc
    def report_contracts_ending(self, scope, query, limit, cursor=None):
        days = load(schemas.EndingQuery(), query)["days"]
        rows, next_cursor = reports.contracts_ending(self.db, days, limit, cursor, scope)
        return page(schemas.EndingRow(many=True).dump(rows), next_cursor)

    @rpc
    def report_km_overrun(self, scope, query, limit, cursor=None):
        load(schemas.NoFilter(), query)
        rows, next_cursor = reports.km_overrun(self.db, limit, cursor, scope)
        return page(schemas.OverrunRow(many=True).dump(rows), next_cursor)

    @rpc
    def report_co2(self, scope, query, limit=None, cursor=None):
        load(schemas.NoFilter(), query)
        return page(schemas.Co2Row(many=True).dump(reports.co2_by_cost_center(self.db, scope)), None)

    @rpc
    def report_fuel(self, scope, query, limit, cursor=None):
        rows, next_cursor = reports.fuel_report(self.db, load(schemas.FuelQuery(), query), limit, cursor,
                                                scope)
        return page(schemas.FuelRow(many=True).dump(rows), next_cursor)

    @rpc
    def report_vehicles_by_status(self, scope, query, limit=None, cursor=None):
        load(schemas.NoFilter(), query)
        rows = reports.vehicles_by_status(self.db, scope)
        return page(schemas.StatusCountRow(many=True).dump(rows), None)

    @rpc
    def report_fuel_by_month(self, scope, query, limit=None, cursor=None):
        period = load(schemas.PeriodQuery(), query)
        rows = reports.fuel_by_month(self.db, period["from_month"], period["to_month"], scope)
        return page(schemas.FuelMonthRow(many=True).dump(rows), None)

    @rpc
    def report_cost_per_km(self, scope, query, limit, cursor=None):
        period = load(schemas.PeriodQuery(), query)
        rows, next_cursor = reports.cost_per_km(self.db, period["from_month"], period["to_month"], limit, cursor,
                                                scope)
        return page(schemas.CostRow(many=True).dump(rows), next_cursor)

    @rpc
    def report_cost_per_km_by_cost_center(self, scope, query, limit=None, cursor=None):
        period = load(schemas.PeriodQuery(), query)
        rows = reports.cost_per_km_by_cost_center(self.db, period["from_month"], period["to_month"], scope)
        return page(schemas.CostCenterRow(many=True).dump(rows), None)

    # per-company settings
    @rpc
    def get_settings(self, scope, organisation_id):
        return schemas.FleetSettings().dump(settings.get_settings(self.db, organisation_id, scope))

    @rpc
    def put_settings(self, scope, organisation_id, payload):
        data = load(schemas.FleetSettings(), payload)
        return schemas.FleetSettings().dump(settings.put_settings(self.db, organisation_id, data, scope))

    # personal-data lifecycle
    @rpc
    def export_person(self, person_id):
        data = privacy.export_person(self.db, person_id)
        return {
            "vehicles": {"role": "processor", "items": schemas.Vehicle(many=True).dump(data["vehicles"])},
            "assignments": {"role": "processor", "items": schemas.Assignment(many=True).dump(data["assignments"])},
            "contracts": {"role": "controller", "items": schemas.Contract(many=True).dump(data["contracts"])},
            "fuelings": {"role": "processor", "items": schemas.Fueling(many=True).dump(data["fuelings"])},
        }

    @rpc
    def erase_person(self, person_id):
        return privacy.erase_person(self.db, person_id)

    @rpc
    def erase_preview(self, person_id):
        with dry_run(self.db):
            return privacy.erase_person(self.db, person_id)

