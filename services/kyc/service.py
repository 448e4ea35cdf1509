from shared.logging import configure
from shared.service_base import ServiceBase

from services.kyc.dependencies import Database

configure("kyc")


class KycService(ServiceBase):
    name = "kyc"
    db = Database("kyc")
