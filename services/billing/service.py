from shared.logging import configure
from shared.service_base import ServiceBase

from services.billing.dependencies import Database

configure("billing")


class BillingService(ServiceBase):
    name = "billing"
    db = Database("billing")
