from nameko.events import event_handler
from nameko.rpc import rpc

from shared.logging import configure
from shared.messaging import PERSON_CREATED
from shared.schemas import load
from shared.service_base import ServiceBase

from services.driver import handlers, schemas
from services.driver.dependencies import Database

configure("driver")


class DriverService(ServiceBase):
    name = "driver"
    db = Database("driver")

    @event_handler("identity", PERSON_CREATED)
    def on_person_created(self, payload):
        handlers.upsert_profile_from_person(self.db, load(schemas.PersonEvent(), payload))

    @rpc
    def get_profile(self, person_id):
        return schemas.DriverProfile().dump(handlers.get_profile(self.db, person_id))
