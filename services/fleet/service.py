from shared.logging import configure
from shared.service_base import ServiceBase

from services.fleet.dependencies import Database

configure("fleet")


class FleetService(ServiceBase):
    name = "fleet"
    db = Database("fleet")
