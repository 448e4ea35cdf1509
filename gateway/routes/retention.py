"""The retention schedule (GDPR art. 5(1)(e)), read-only: each service answers for the part
it enforces, with the periods its configuration gives. There is no HTTP way to run it."""
from shared.config import SERVICES
from shared.schemas import RetentionSchedule

from gateway.auth import STAFF
from gateway.http import route


class RetentionRoutes:
    @route("GET", "/retention", summary="The retention schedule: per service and data category the period, what "
           "starts it, the legal basis and how it is enforced (every service must answer, else 503)",
           tag="lifecycle", roles=STAFF, response=RetentionSchedule)
    def retention_schedule(self, request, principal):
        parts = self._fan_out({service: (service, "retention_schedule") for service in SERVICES})
        return {"items": [rule for service in SERVICES for rule in parts[service]]}
