import base64

from shared.db import dry_run, page, publish
from shared.logging import configure
from shared.messaging import (CONSENT_CHANGED, CONTRACT_CHANGED, FUELING_RECORDED, PERSON_CREATED, PERSON_UPDATED,
                              VEHICLE_ASSIGNED, event_handler, rpc)
from shared.retention import RetentionEntrypoints
from shared.schemas import load
from shared.service_base import ServiceBase

from services.driver import logbook, models, retention, schemas
from services.driver.dependencies import Database
from services.driver.handlers import drivers, fuelings, home, location, privacy, tires, trips, vehicles, washes
from services.driver.partner.consumer import PartnerFuelingConsumer

configure("driver")


class DriverService(RetentionEntrypoints, ServiceBase):
    name = "driver"
    db = Database("driver")
    retention_rules = retention.RULES
    retention_lease = models.RetentionLease
    partner_fueling = PartnerFuelingConsumer()

    def _recorded(self, matched):
        if matched:
            publish(self.db, FUELING_RECORDED, schemas.fueling_recorded_event(matched))

    # read models
    @event_handler("identity", PERSON_CREATED)
    def on_person_created(self, payload):
        self._recorded(drivers.upsert_profile_from_person(self.db, load(schemas.PersonEvent(), payload)))

    @event_handler("identity", PERSON_UPDATED)
    def on_person_updated(self, payload):
        self._recorded(drivers.upsert_profile_from_person(self.db, load(schemas.PersonEvent(), payload)))

    @event_handler("fleet", VEHICLE_ASSIGNED)
    def on_vehicle_assigned(self, payload):
        self._recorded(drivers.apply_vehicle_assigned(self.db, load(schemas.VehicleAssignedEvent(), payload)))

    @event_handler("fleet", CONTRACT_CHANGED)
    def on_contract_changed(self, payload):
        self._recorded(drivers.apply_contract_changed(self.db, load(schemas.ContractChangedEvent(), payload)))

    @event_handler("marketing", CONSENT_CHANGED)
    def on_consent_changed(self, payload):
        location.apply_consent(self.db, load(schemas.ConsentChangedEvent(), payload))

    @rpc
    def get_profile(self, person_id):
        return schemas.Home().dump(home.home(self.db, person_id))

    # driving log
    @rpc
    def log_trip(self, person_id, account_id, payload):
        """{"trip", "created"}: created is false when the entry's client_id was already stored."""
        trip, created = trips.log_trip(self.db, person_id, account_id, load(schemas.TripCreate(), payload))
        return {"trip": schemas.Trip().dump(trip), "created": created}

    @rpc
    def list_trips(self, person_id, filters, limit, cursor=None):
        rows, next_cursor = trips.list_trips(self.db, load(schemas.TripFilter(), filters), limit, cursor, person_id)
        return page(schemas.Trip(many=True).dump(rows), next_cursor)

    @rpc
    def vehicle_trips(self, vehicle_id, scope, filters, limit, cursor=None):
        rows, next_cursor = vehicles.vehicle_trips(self.db, vehicle_id, scope, load(schemas.TripFilter(), filters),
                                                   limit, cursor)
        return page([vehicles.as_seen_by(scope, trip) for trip in schemas.Trip(many=True).dump(rows)], next_cursor)

    @rpc
    def trip_summary(self, person_id, query):
        return schemas.TripSummary().dump(trips.trip_summary(self.db, person_id,
                                                             load(schemas.YearQuery(), query)["year"]))

    @rpc
    def export_trips(self, person_id, query):
        """The year's log as {"format", "filename", "content"}: CSV text, or a PDF in base64."""
        query = load(schemas.TripExportQuery(), query)
        log = trips.driving_log(self.db, person_id, query["year"])
        filename = f"ajopaivakirja-{query['year']}.{query['format']}"
        if query["format"] == "pdf":
            content = base64.b64encode(logbook.to_pdf(log)).decode("ascii")
        else:
            content = logbook.to_csv(log)
        return {"format": query["format"], "filename": filename, "content": content}

    # tire storage, washes
    @rpc
    def set_tire_storage(self, vehicle_id, payload):
        vehicle = tires.set_tire_storage(self.db, vehicle_id,
                                         load(schemas.TireStorageUpdate(), payload)["location"])
        return schemas.TireStorage().dump(vehicle)

    @rpc
    def get_my_tire_storage(self, person_id):
        return schemas.TireStorage().dump(tires.my_tire_storage(self.db, person_id))

    @rpc
    def book_wash(self, person_id, payload):
        return schemas.Wash().dump(washes.book_wash(self.db, person_id, load(schemas.WashCreate(), payload)))

    @rpc
    def cancel_wash(self, person_id, booking_id):
        return schemas.Wash().dump(washes.cancel_wash(self.db, person_id, booking_id))

    @rpc
    def list_washes(self, person_id, limit, cursor=None):
        rows, next_cursor = washes.list_washes(self.db, person_id, limit, cursor)
        return page(schemas.Wash(many=True).dump(rows), next_cursor)

    # location
    @rpc
    def add_location(self, person_id, payload):
        return schemas.LocationPing().dump(location.add_ping(self.db, person_id,
                                                             load(schemas.LocationCreate(), payload)))

    @rpc
    def list_locations(self, person_id, limit, cursor=None):
        rows, next_cursor = location.list_pings(self.db, person_id, limit, cursor)
        return page(schemas.LocationPing(many=True).dump(rows), next_cursor)

    # fuelings
    @rpc
    def list_fuelings(self, person_id, limit, cursor=None):
        rows, next_cursor = fuelings.list_fuelings(self.db, limit, cursor, person_id)
        return page(schemas.Fueling(many=True).dump(rows), next_cursor)

    @rpc
    def vehicle_fuelings(self, vehicle_id, scope, limit, cursor=None):
        rows, next_cursor = vehicles.vehicle_fuelings(self.db, vehicle_id, scope, limit, cursor)
        return page(schemas.Fueling(many=True).dump(rows), next_cursor)

    @rpc
    def vehicle_summary(self, vehicle_id, scope):
        summary = vehicles.vehicle_summary(self.db, vehicle_id, scope)
        trips = summary["trips"]
        return {"latest_fuelings": schemas.Fueling(many=True).dump(summary["latest_fuelings"]),
                "trips": {**trips, "last_date": trips["last_date"].isoformat() if trips["last_date"] else None}}

    # personal-data lifecycle
    @rpc
    def export_person(self, person_id):
        data = privacy.export_person(self.db, person_id)
        profile = data["profile"]["data"]
        return {
            "profile": {"role": "controller", "data": schemas.Me().dump(profile) if profile else None},
            "driving_log": {"role": "controller", "items": schemas.Trip(many=True).dump(data["driving_log"]["items"])},
            "wash_bookings": {"role": "controller",
                              "items": schemas.Wash(many=True).dump(data["wash_bookings"]["items"])},
            "location": {"role": "controller", "consent": data["location"]["consent"],
                         "items": schemas.LocationPing(many=True).dump(data["location"]["items"])},
            "fuelings": {"role": "processor", "items": schemas.FuelingExport(many=True).dump(data["fuelings"]["items"])},
        }

    @rpc
    def erase_person(self, person_id):
        return privacy.erase_person(self.db, person_id)

    @rpc
    def erase_preview(self, person_id):
        with dry_run(self.db):
            return privacy.erase_person(self.db, person_id)
