from shared.logging import CorrelationLog, configure

from gateway.auth import Auth
from gateway.dependencies import Rpc
from gateway.routes.billing import BillingRoutes
from gateway.routes.docs import DocsRoutes
from gateway.routes.driver import DriverRoutes
from gateway.routes.fleet import FleetRoutes
from gateway.routes.health import HealthRoutes
from gateway.routes.identity import IdentityRoutes
from gateway.routes.kyc import KycRoutes
from gateway.routes.lifecycle import LifecycleRoutes
from gateway.routes.marketing import MarketingRoutes
from gateway.routes.retention import RetentionRoutes

configure("gateway")


class GatewayService(HealthRoutes, DocsRoutes, IdentityRoutes, FleetRoutes, DriverRoutes, MarketingRoutes,
                     BillingRoutes, KycRoutes, LifecycleRoutes, RetentionRoutes):
    """The only HTTP entry (SPEC §5); routes live in gateway/routes/, one mixin per domain."""
    name = "gateway"
    rpc = Rpc()
    auth = Auth()
    log = CorrelationLog()
