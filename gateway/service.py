from nameko.events import BROADCAST

from shared.logging import CorrelationLog, configure
from shared.messaging import ACCOUNT_CHANGED, ORGANISATION_CHANGED, event_handler
from shared.schemas import load

from services.identity.schemas import AccountChangedEvent

from gateway.auth import PRINCIPALS, Auth
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

    # every gateway process (BROADCAST, a queue of its own) drops the principals it keeps
    # (gateway.auth.PrincipalCache) when identity changes one
    @event_handler("identity", ACCOUNT_CHANGED, handler_type=BROADCAST, reliable_delivery=False)
    def on_account_changed(self, payload):
        PRINCIPALS.forget(load(AccountChangedEvent(), payload)["account_id"])  # erasure deactivates this way too

    @event_handler("identity", ORGANISATION_CHANGED, handler_type=BROADCAST, reliable_delivery=False)
    def on_organisation_changed(self, payload):
        PRINCIPALS.forget()  # a group's members may have changed
