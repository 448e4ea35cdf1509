from shared.logging import configure
from shared.service_base import ServiceBase

from services.marketing.dependencies import Database

configure("marketing")


class MarketingService(ServiceBase):
    name = "marketing"
    db = Database("marketing")
