import base64

from werkzeug.wrappers import Response

from services.driver import schemas
from shared.errors import NotFound
from shared.scope import STAFF_SCOPE

from gateway.auth import DRIVER, STAFF, STAFF_OR_MANAGER
from gateway.dependencies import gather
from gateway.http import created, json_body, page_args, route

TAG = "driver"


def own_person(principal) -> str:
    if not principal.person_id:
        raise NotFound("This account is not linked to a person")
    return principal.person_id


class DriverRoutes:
    def _of_held_vehicle(self, principal, vehicle_id, method, *args):
        """driver.<method> of a vehicle the caller's organisations use or used (fleet
        answers 404 otherwise); both services filter by the caller's scope."""
        scope = principal.visible_organisations()
        results, _ = gather({"fleet": self.rpc.fleet.require_held_vehicle.call_async(vehicle_id, scope),
                             "driver": getattr(self.rpc.driver, method).call_async(vehicle_id, scope, *args)},
                            essential=("fleet", "driver"))
        return results["driver"]

    @route("GET", "/me", summary="The driver's home: profile, car, contract (months left), latest fuelings, "
           "next wash; `degraded` names a service that did not answer", tag=TAG, roles=DRIVER,
           response=schemas.HomeView)
    def get_me(self, request, principal):
        home = self.rpc.driver.get_profile(own_person(principal))
        fleet, degraded = self._fleet_facts(home["vehicle_id"], home["contract_id"])
        vehicle, contract = fleet.get("vehicle") or {}, fleet.get("contract") or {}
        return {**home, "power_source": vehicle.get("power_source"), "co2_g_per_km": vehicle.get("co2_g_per_km"),
                "remaining_months": contract.get("remaining_months"), "degraded": degraded}

    def _fleet_facts(self, vehicle_id, contract_id):
        """The driver's own car and contract from fleet. The ids come from the driver's own read
        model (the car whose driver_person_id is this person), not from the request, so fleet
        is asked with the staff scope for exactly these two rows."""
        pending = {}
        if vehicle_id:
            pending["vehicle"] = self.rpc.fleet.get_vehicle.call_async(vehicle_id, STAFF_SCOPE)
        if contract_id:
            pending["contract"] = self.rpc.fleet.get_contract.call_async(contract_id, STAFF_SCOPE)
        results, degraded = {}, []
        for name, call in pending.items():
            try:
                found, missing = gather({name: call})
            except NotFound:  # not (yet) in fleet: the read model's facts stand alone
                continue
            results.update(found)
            degraded += missing
        return results, sorted(set(degraded))

    # driving log
    @route("POST", "/me/trips", summary="Log a trip in the driving log (201); the same `client_id` sent again "
           "stores nothing and answers the first entry (200), or 409 if its content differs", tag=TAG,
           roles=DRIVER, body=schemas.TripCreate, response=schemas.Trip, status=201,
           rules="A work trip has a purpose; odometer_end is not below odometer_start.")
    def log_trip(self, request, principal):
        result = self.rpc.driver.log_trip(own_person(principal), principal.account_id, json_body(request))
        return created(result["trip"]) if result["created"] else result["trip"]

    @route("GET", "/me/trips", summary="The driver's driving log", tag=TAG, roles=DRIVER,
           query=schemas.TripFilter, response=schemas.Trip, paginated=True)
    def list_my_trips(self, request, principal):
        filters, limit, cursor = page_args(request)
        return self.rpc.driver.list_trips(own_person(principal), filters, limit, cursor)

    @route("GET", "/me/trips/summary", summary="Yearly work / private km", tag=TAG, roles=DRIVER,
           query=schemas.YearQuery, response=schemas.TripSummary)
    def trip_summary(self, request, principal):
        return self.rpc.driver.trip_summary(own_person(principal), request.args.to_dict())

    @route("GET", "/me/trips/export", summary="Driving log of a year for the Finnish tax administration, "
           "as CSV (default) or PDF (`format=pdf`)", tag=TAG, roles=DRIVER, query=schemas.TripExportQuery)
    def export_trips(self, request, principal):
        export = self.rpc.driver.export_trips(own_person(principal), request.args.to_dict())
        if export["format"] == "pdf":
            body, mimetype = base64.b64decode(export["content"]), "application/pdf"
        else:
            body, mimetype = export["content"].encode("utf-8-sig"), "text/csv"
        return Response(body, mimetype=mimetype,
                        headers={"Content-Disposition": f'attachment; filename="{export["filename"]}"'})

    @route("GET", "/vehicles/<string:vehicle_id>/trips", summary="Driving log of a vehicle", tag=TAG,
           roles=STAFF_OR_MANAGER, query=schemas.TripFilter, response=schemas.Trip, paginated=True)
    def list_vehicle_trips(self, request, principal, vehicle_id):
        filters, limit, cursor = page_args(request)
        return self._of_held_vehicle(principal, vehicle_id, "vehicle_trips", filters, limit, cursor)

    # tire storage and washes
    @route("PUT", "/vehicles/<string:vehicle_id>/tire-storage", summary="Set the tire storage location", tag=TAG,
           roles=STAFF, body=schemas.TireStorageUpdate, response=schemas.TireStorage)
    def set_tire_storage(self, request, principal, vehicle_id):
        self.rpc.fleet.get_vehicle(vehicle_id, principal.visible_organisations())
        return self.rpc.driver.set_tire_storage(vehicle_id, json_body(request))

    @route("GET", "/me/tire-storage", summary="Where the driver's tires are stored", tag=TAG, roles=DRIVER,
           response=schemas.TireStorage)
    def get_my_tire_storage(self, request, principal):
        return self.rpc.driver.get_my_tire_storage(own_person(principal))

    @route("POST", "/me/washes", summary="Book a celebration wash (contract add-on)", tag=TAG, roles=DRIVER,
           body=schemas.WashCreate, response=schemas.Wash, status=201,
           rules="wash_at is in the future.")
    def book_wash(self, request, principal):
        return created(self.rpc.driver.book_wash(own_person(principal), json_body(request)))

    @route("DELETE", "/me/washes/<string:booking_id>", summary="Cancel a wash booking (a past one: 409)",
           tag=TAG, roles=DRIVER, response=schemas.Wash)
    def cancel_wash(self, request, principal, booking_id):
        return self.rpc.driver.cancel_wash(own_person(principal), booking_id)

    @route("GET", "/me/washes", summary="The driver's wash bookings", tag=TAG, roles=DRIVER,
           response=schemas.Wash, paginated=True)
    def list_washes(self, request, principal):
        _, limit, cursor = page_args(request)
        return self.rpc.driver.list_washes(own_person(principal), limit, cursor)

    # location
    @route("POST", "/me/location", summary="Store a location ping (only with location_tracking consent)",
           tag=TAG, roles=DRIVER, body=schemas.LocationCreate, response=schemas.LocationPing, status=201)
    def add_location(self, request, principal):
        return created(self.rpc.driver.add_location(own_person(principal), json_body(request)))

    @route("GET", "/me/location", summary="The driver's stored location pings", tag=TAG, roles=DRIVER,
           response=schemas.LocationPing, paginated=True)
    def list_locations(self, request, principal):
        _, limit, cursor = page_args(request)
        return self.rpc.driver.list_locations(own_person(principal), limit, cursor)

    # fuelings
    @route("GET", "/me/fuelings", summary="The driver's partner fuelings", tag=TAG, roles=DRIVER,
           response=schemas.Fueling, paginated=True)
    def list_my_fuelings(self, request, principal):
        _, limit, cursor = page_args(request)
        return self.rpc.driver.list_fuelings(own_person(principal), limit, cursor)

    @route("GET", "/vehicles/<string:vehicle_id>/fuelings", summary="Partner fuelings of a vehicle", tag=TAG,
           roles=STAFF_OR_MANAGER, response=schemas.Fueling, paginated=True)
    def list_vehicle_fuelings(self, request, principal, vehicle_id):
        _, limit, cursor = page_args(request)
        return self._of_held_vehicle(principal, vehicle_id, "vehicle_fuelings", limit, cursor)
