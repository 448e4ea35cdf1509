"""Fleet Manager: vehicles, contracts, deliveries, dealerships, usage and reports. Staff
write; fleet managers read what belongs to their company or group."""
import csv
import io

from werkzeug.wrappers import Response

from services.fleet import schemas
from shared import config
from shared.errors import NotFound, ValidationFailed
from shared.schemas import load
from shared.spreadsheet import safe_row

from gateway.auth import STAFF, STAFF_OR_MANAGER
from gateway.dependencies import gather
from gateway.http import created, json_body, page_args, route

TAG = "fleet"
CONTRACT_DATES = "ends_on is not before starts_on (as stored, when only one of them is sent)."
REPORTS = "reports"
CSV_PAGE = 200
CSV_MAX_ROWS = 50_000  # one CSV file is built in memory: larger reports are read as JSON pages


PERIOD_RULE = "`from` must not be after `to`."


class FleetRoutes:
    # vehicles
    @route("POST", "/vehicles", summary="Register a vehicle (duplicate plate 409)", tag=TAG, roles=STAFF,
           body=schemas.VehicleCreate, response=schemas.Vehicle, status=201)
    def create_vehicle(self, request, principal):
        body = json_body(request)
        return created(self.rpc.fleet.create_vehicle(body))

    @route("GET", "/vehicles", summary="Vehicles in scope, filtered", tag=TAG, roles=STAFF_OR_MANAGER,
           query=schemas.VehicleFilter, response=schemas.Vehicle, paginated=True)
    def list_vehicles(self, request, principal):
        filters, limit, cursor = page_args(request)
        return self.rpc.fleet.list_vehicles(principal.visible_organisations(), filters, limit, cursor)

    @route("GET", "/vehicles/<string:vehicle_id>", summary="A vehicle with its contract, latest odometer, "
           "fuelings and trips (driver) and driver name (identity); `degraded` names services that did not "
           "answer", tag=TAG, roles=STAFF_OR_MANAGER, response=schemas.VehicleView)
    def get_vehicle(self, request, principal, vehicle_id):
        scope = principal.visible_organisations()
        pending = {"fleet": self.rpc.fleet.get_vehicle_detail.call_async(vehicle_id, scope),
                   "driver": self.rpc.driver.vehicle_summary.call_async(vehicle_id, scope)}
        results, degraded = gather(pending, essential=("fleet",))
        vehicle = results["fleet"]
        driver, more_degraded = self._driver_of(vehicle["driver_person_id"], scope)
        return {**vehicle, "driver": driver, "usage": results.get("driver"),
                "degraded": sorted(set(degraded + more_degraded))}

    def _driver_of(self, person_id, scope):
        """The driver's name only (when the person is in the caller's scope); identity records the access."""
        if not person_id:
            return None, []
        try:
            results, degraded = gather({"identity": self.rpc.identity.get_person.call_async(person_id, scope)})
        except NotFound:
            results, degraded = {}, []
        person = results.get("identity")
        name = {"first_name": person["first_name"], "last_name": person["last_name"]} if person else {}
        return {"person_id": person_id, **name}, degraded

    @route("PATCH", "/vehicles/<string:vehicle_id>", summary="Update a vehicle; driver, organisation and cost "
           "center changes are kept in its history", tag=TAG, roles=STAFF, body=schemas.VehicleUpdate,
           response=schemas.Vehicle)
    def update_vehicle(self, request, principal, vehicle_id):
        return self.rpc.fleet.update_vehicle(vehicle_id, json_body(request))

    @route("GET", "/vehicles/<string:vehicle_id>/history", summary="Driver, organisation and cost center "
           "history of a vehicle", tag=TAG, roles=STAFF_OR_MANAGER, response=schemas.Assignment, paginated=True)
    def vehicle_history(self, request, principal, vehicle_id):
        _, limit, cursor = page_args(request)
        return self.rpc.fleet.vehicle_history(vehicle_id, principal.visible_organisations(), limit, cursor)

    # usage
    @route("POST", "/vehicles/<string:vehicle_id>/odometer", summary="Record an odometer reading (going "
           "backwards is 409)", tag=TAG, roles=STAFF, body=schemas.OdometerCreate,
           response=schemas.OdometerReading, status=201)
    def add_reading(self, request, principal, vehicle_id):
        return created(self.rpc.fleet.add_reading(vehicle_id, json_body(request)))

    @route("GET", "/vehicles/<string:vehicle_id>/odometer", summary="Odometer readings of a vehicle", tag=TAG,
           roles=STAFF_OR_MANAGER, response=schemas.OdometerReading, paginated=True)
    def list_readings(self, request, principal, vehicle_id):
        _, limit, cursor = page_args(request)
        return self.rpc.fleet.list_readings(vehicle_id, principal.visible_organisations(), limit, cursor)

    @route("POST", "/vehicles/<string:vehicle_id>/service-events", summary="Record a maintenance or wash",
           tag=TAG, roles=STAFF, body=schemas.ServiceEventCreate, response=schemas.ServiceEvent, status=201)
    def add_service_event(self, request, principal, vehicle_id):
        return created(self.rpc.fleet.add_service_event(vehicle_id, json_body(request)))

    @route("GET", "/vehicles/<string:vehicle_id>/service-events", summary="Maintenance and washes of a vehicle",
           tag=TAG, roles=STAFF_OR_MANAGER, response=schemas.ServiceEvent, paginated=True)
    def list_service_events(self, request, principal, vehicle_id):
        _, limit, cursor = page_args(request)
        return self.rpc.fleet.list_service_events(vehicle_id, principal.visible_organisations(), limit, cursor)

    # contracts
    @route("POST", "/contracts", summary="Create a leasing contract for a vehicle", tag=TAG, roles=STAFF,
           body=schemas.ContractCreate, response=schemas.Contract, status=201, rules=CONTRACT_DATES)
    def create_contract(self, request, principal):
        return created(self.rpc.fleet.create_contract(json_body(request)))

    @route("GET", "/contracts", summary="Contracts in scope, filtered", tag=TAG, roles=STAFF_OR_MANAGER,
           query=schemas.ContractFilter, response=schemas.Contract, paginated=True)
    def list_contracts(self, request, principal):
        filters, limit, cursor = page_args(request)
        return self.rpc.fleet.list_contracts(principal.visible_organisations(), filters, limit, cursor)

    @route("GET", "/contracts/<string:contract_id>", summary="A contract with its derived monthly total and "
           "remaining months", tag=TAG, roles=STAFF_OR_MANAGER, response=schemas.Contract)
    def get_contract(self, request, principal, contract_id):
        return self.rpc.fleet.get_contract(contract_id, principal.visible_organisations())

    @route("PATCH", "/contracts/<string:contract_id>", summary="Update a contract; `status` follows ordered → "
           "awaiting_delivery → active → ended | terminated (illegal transition 409)", tag=TAG, roles=STAFF,
           body=schemas.ContractUpdate, response=schemas.Contract, rules=CONTRACT_DATES)
    def update_contract(self, request, principal, contract_id):
        return self.rpc.fleet.update_contract(contract_id, json_body(request))

    # dealerships and deliveries
    @route("POST", "/dealerships", summary="Create a dealership", tag=TAG, roles=STAFF,
           body=schemas.DealershipCreate, response=schemas.Dealership, status=201)
    def create_dealership(self, request, principal):
        return created(self.rpc.fleet.create_dealership(json_body(request)))

    @route("GET", "/dealerships", summary="Dealerships", tag=TAG, roles=STAFF_OR_MANAGER,
           response=schemas.Dealership, paginated=True)
    def list_dealerships(self, request, principal):
        filters, limit, cursor = page_args(request)
        return self.rpc.fleet.list_dealerships(filters, limit, cursor)

    @route("GET", "/dealerships/<string:dealership_id>", summary="A dealership", tag=TAG, roles=STAFF_OR_MANAGER,
           response=schemas.Dealership)
    def get_dealership(self, request, principal, dealership_id):
        return self.rpc.fleet.get_dealership(dealership_id)

    @route("PATCH", "/dealerships/<string:dealership_id>", summary="Update a dealership", tag=TAG, roles=STAFF,
           body=schemas.DealershipUpdate, response=schemas.Dealership)
    def update_dealership(self, request, principal, dealership_id):
        return self.rpc.fleet.update_dealership(dealership_id, json_body(request))

    @route("POST", "/deliveries", summary="Order a car for delivery", tag=TAG, roles=STAFF,
           body=schemas.DeliveryCreate, response=schemas.Delivery, status=201)
    def create_delivery(self, request, principal):
        return created(self.rpc.fleet.create_delivery(json_body(request)))

    @route("GET", "/deliveries", summary="Cars awaiting delivery (`pending=true`) and delivered ones", tag=TAG,
           roles=STAFF_OR_MANAGER, query=schemas.DeliveryFilter, response=schemas.Delivery, paginated=True)
    def list_deliveries(self, request, principal):
        filters, limit, cursor = page_args(request)
        return self.rpc.fleet.list_deliveries(principal.visible_organisations(), filters, limit, cursor)

    @route("GET", "/deliveries/<string:delivery_id>", summary="A delivery", tag=TAG, roles=STAFF_OR_MANAGER,
           response=schemas.Delivery)
    def get_delivery(self, request, principal, delivery_id):
        return self.rpc.fleet.get_delivery(delivery_id, principal.visible_organisations())

    @route("PATCH", "/deliveries/<string:delivery_id>", summary="Update the order or its (estimated or "
           "confirmed) delivery date", tag=TAG, roles=STAFF, body=schemas.DeliveryUpdate, response=schemas.Delivery)
    def update_delivery(self, request, principal, delivery_id):
        return self.rpc.fleet.update_delivery(delivery_id, json_body(request))

    # reports: JSON pages, or with `Accept: text/csv` every page as one CSV file
    @route("GET", "/reports/contracts-ending", summary="Active contracts ending within `days`", tag=REPORTS,
           roles=STAFF_OR_MANAGER, query=schemas.EndingQuery, response=schemas.EndingRow, paginated=True)
    def report_contracts_ending(self, request, principal):
        return self._report(request, principal, "report_contracts_ending", schemas.EndingRow, "contracts-ending")

    @route("GET", "/reports/km-overrun", summary="Km driven against included km pro rata, projected to the end "
           "of the term", tag=REPORTS, roles=STAFF_OR_MANAGER, query=schemas.ScopeQuery, response=schemas.OverrunRow,
           paginated=True)
    def report_km_overrun(self, request, principal):
        return self._report(request, principal, "report_km_overrun", schemas.OverrunRow, "km-overrun")

    @route("GET", "/reports/co2-by-cost-center", summary="Vehicle count and CO2 by organisation and cost center",
           tag=REPORTS, roles=STAFF_OR_MANAGER, query=schemas.ScopeQuery, response=schemas.Co2Row, paginated=True)
    def report_co2(self, request, principal):
        return self._report(request, principal, "report_co2", schemas.Co2Row, "co2-by-cost-center")

    @route("GET", "/reports/fuel", summary="Fuel litres and cost per vehicle and month (`from`, `to`: YYYY-MM)",
           tag=REPORTS, roles=STAFF_OR_MANAGER, query=schemas.FuelQuery, response=schemas.FuelRow, paginated=True)
    def report_fuel(self, request, principal):
        return self._report(request, principal, "report_fuel", schemas.FuelRow, "fuel")

    @route("GET", "/reports/vehicles-by-status", summary="Vehicle count per status", tag=REPORTS,
           roles=STAFF_OR_MANAGER, query=schemas.ScopeQuery, response=schemas.StatusCountRow, paginated=True)
    def report_vehicles_by_status(self, request, principal):
        return self._report(request, principal, "report_vehicles_by_status", schemas.StatusCountRow,
                            "vehicles-by-status")

    @route("GET", "/reports/fuel-by-month", summary="Fuel litres and cost per month (`from`, `to`: YYYY-MM; "
           "by default the last twelve months)", tag=REPORTS, roles=STAFF_OR_MANAGER, query=schemas.PeriodQuery,
           response=schemas.FuelMonthRow, paginated=True, rules=PERIOD_RULE)
    def report_fuel_by_month(self, request, principal):
        return self._report(request, principal, "report_fuel_by_month", schemas.FuelMonthRow, "fuel-by-month")

    @route("GET", "/reports/cost-per-km", summary="Lease, maintenance and fuel per driven km of each vehicle "
           "over a period (`from`, `to`: YYYY-MM; by default the last twelve months)", tag=REPORTS,
           roles=STAFF_OR_MANAGER, query=schemas.PeriodQuery, response=schemas.CostRow, paginated=True,
           rules=PERIOD_RULE)
    def report_cost_per_km(self, request, principal):
        return self._report(request, principal, "report_cost_per_km", schemas.CostRow, "cost-per-km")

    @route("GET", "/reports/cost-per-km-by-cost-center", summary="The same per customer and cost center",
           tag=REPORTS, roles=STAFF_OR_MANAGER, query=schemas.PeriodQuery, response=schemas.CostCenterRow,
           paginated=True, rules=PERIOD_RULE)
    def report_cost_per_km_by_cost_center(self, request, principal):
        return self._report(request, principal, "report_cost_per_km_by_cost_center", schemas.CostCenterRow,
                            "cost-per-km-by-cost-center")

    @route("GET", "/fleet-settings/<string:organisation_id>", summary="A customer company's fleet settings "
           "(contract reminder lead time, default 90 days)", tag=TAG, roles=STAFF_OR_MANAGER,
           response=schemas.FleetSettings)
    def get_fleet_settings(self, request, principal, organisation_id):
        return self.rpc.fleet.get_settings(principal.visible_organisations(), organisation_id)

    @route("PUT", "/fleet-settings/<string:organisation_id>", summary="Set a customer company's contract "
           "reminder lead time (1-730 days)", tag=TAG, roles=STAFF_OR_MANAGER, body=schemas.FleetSettings,
           response=schemas.FleetSettings)
    def put_fleet_settings(self, request, principal, organisation_id):
        return self.rpc.fleet.put_settings(principal.visible_organisations(), organisation_id, json_body(request))

    def _report(self, request, principal, method, row_schema, name):
        query, limit, cursor = page_args(request)
        call = getattr(self.rpc.fleet, method)
        narrowed = load(schemas.ScopeQuery(), {k: query.pop(k) for k in ("organisation_id",) if k in query})
        scope = principal.narrowed_to(narrowed.get("organisation_id"))
        if request.accept_mimetypes.best_match(["application/json", "text/csv"]) != "text/csv":
            return call(scope, query, limit, cursor)
        rows, max_rows = [], int(config.env("GATEWAY_CSV_MAX_ROWS", CSV_MAX_ROWS))
        while True:
            result = call(scope, query, CSV_PAGE, cursor)
            rows += result["items"]
            cursor = result["next_cursor"]
            if len(rows) > max_rows:
                raise ValidationFailed("Report too large for one CSV file", {
                    "_query": [f"More than {max_rows} rows: narrow the query or read the JSON pages."]})
            if not cursor:
                break
        return csv_response(rows, list(row_schema().fields), f"{name}.csv")


def csv_response(rows, columns, filename) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(safe_row(row.get(column) for column in columns) for row in rows)
    return Response(buffer.getvalue().encode("utf-8-sig"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
