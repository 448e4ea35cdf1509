from werkzeug.wrappers import Response

from services.driver import schemas
from shared.errors import NotFound

from gateway.auth import DRIVER, STAFF, STAFF_OR_MANAGER
from gateway.dependencies import gather
from gateway.http import created, json_body, page_args, route

TAG = "driver"


def _person(principal) -> str:
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

    @route("GET", "/me", summary="The driver's profile, vehicle and contract summary", tag=TAG, roles=DRIVER,
           response=schemas.Me)
    def get_me(self, request, principal):
        return self.rpc.driver.get_profile(_person(principal))

    # driving log
    @route("POST", "/me/trips", summary="Log a trip in the driving log", tag=TAG, roles=DRIVER,
           body=schemas.TripCreate, response=schemas.Trip, status=201,
           rules="A work trip has a purpose; odometer_end is not below odometer_start.")
    def log_trip(self, request, principal):
        return created(self.rpc.driver.log_trip(_person(principal), principal.account_id, json_body(request)))

    @route("GET", "/me/trips", summary="The driver's driving log", tag=TAG, roles=DRIVER,
           query=schemas.TripFilter, response=schemas.Trip, paginated=True)
    def list_my_trips(self, request, principal):
        filters, limit, cursor = page_args(request)
        return self.rpc.driver.list_trips(_person(principal), filters, limit, cursor)

    @route("GET", "/me/trips/summary", summary="Yearly work / private km", tag=TAG, roles=DRIVER,
           query=schemas.YearQuery, response=schemas.TripSummary)
    def trip_summary(self, request, principal):
        return self.rpc.driver.trip_summary(_person(principal), request.args.to_dict())

    @route("GET", "/me/trips/export", summary="Driving log of a year as CSV for the Finnish tax administration",
           tag=TAG, roles=DRIVER, query=schemas.YearQuery)
    def export_trips(self, request, principal):
        text = self.rpc.driver.trips_csv(_person(principal), request.args.to_dict())
        return Response(text.encode("utf-8-sig"), mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="ajopaivakirja.csv"'})

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
        return self.rpc.driver.get_my_tire_storage(_person(principal))

    @route("POST", "/me/washes", summary="Book a celebration wash (contract add-on)", tag=TAG, roles=DRIVER,
           body=schemas.WashCreate, response=schemas.Wash, status=201,
           rules="wash_at is in the future.")
    def book_wash(self, request, principal):
        return created(self.rpc.driver.book_wash(_person(principal), json_body(request)))

    @route("GET", "/me/washes", summary="The driver's wash bookings", tag=TAG, roles=DRIVER,
           response=schemas.Wash, paginated=True)
    def list_washes(self, request, principal):
        _, limit, cursor = page_args(request)
        return self.rpc.driver.list_washes(_person(principal), limit, cursor)

    # location
    @route("POST", "/me/location", summary="Store a location ping (only with location_tracking consent)",
           tag=TAG, roles=DRIVER, body=schemas.LocationCreate, response=schemas.LocationPing, status=201)
    def add_location(self, request, principal):
        return created(self.rpc.driver.add_location(_person(principal), json_body(request)))

    @route("GET", "/me/location", summary="The driver's stored location pings", tag=TAG, roles=DRIVER,
           response=schemas.LocationPing, paginated=True)
    def list_locations(self, request, principal):
        _, limit, cursor = page_args(request)
        return self.rpc.driver.list_locations(_person(principal), limit, cursor)

    # fuelings
    @route("GET", "/me/fuelings", summary="The driver's partner fuelings", tag=TAG, roles=DRIVER,
           response=schemas.Fueling, paginated=True)
    def list_my_fuelings(self, request, principal):
        _, limit, cursor = page_args(request)
        return self.rpc.driver.list_fuelings(_person(principal), limit, cursor)

    @route("GET", "/vehicles/<string:vehicle_id>/fuelings", summary="Partner fuelings of a vehicle", tag=TAG,
           roles=STAFF_OR_MANAGER, response=schemas.Fueling, paginated=True)
    def list_vehicle_fuelings(self, request, principal, vehicle_id):
        _, limit, cursor = page_args(request)
        return self._of_held_vehicle(principal, vehicle_id, "vehicle_fuelings", limit, cursor)
