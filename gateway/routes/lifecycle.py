"""Personal-data lifecycle (SPEC §3): export and erasure fan out to every service, each
answering for its own data. Both must be complete: a service that does not answer is 503, and
erasing again is how it is completed (erase_person is erasure's one trigger and idempotent)."""
from nameko.exceptions import MethodNotFound

from shared.db import utcnow
from shared.errors import ServiceUnavailable
from shared.messaging import PERSONAL_DATA_SERVICES as DATA_SERVICES

from gateway.auth import DRIVER, STAFF
from gateway.http import route
from gateway.routes.driver import own_person

TAG = "lifecycle"


class LifecycleRoutes:
    @route("GET", "/persons/<string:person_id>/export", summary="Everything every service holds about a person "
           "(each section labelled controller or processor)", tag=TAG, roles=STAFF)
    def export_person(self, request, principal, person_id):
        self.rpc.identity.get_person(person_id, principal.visible_organisations())
        return self._export(person_id)

    @route("GET", "/me/export", summary="The driver's own data: the person export of the account's own person",
           tag=TAG, roles=DRIVER)
    def export_me(self, request, principal):
        return self._export(own_person(principal))

    def _export(self, person_id) -> dict:
        calls = {service: (service, "export_person") for service in DATA_SERVICES}
        calls["gateway"] = ("identity", "export_web_usage")
        results = self._fan_out(calls, person_id)
        return {"person_id": person_id, "generated_at": utcnow().isoformat(), **results}

    @route("POST", "/persons/<string:person_id>/erase", summary="Erase a person everywhere: per service what was "
           "anonymised and what is retained, with legal basis and until when (idempotent)", tag=TAG, roles=STAFF)
    def erase_person(self, request, principal, person_id):
        identity = self.rpc.identity.erase_person(person_id)
        others = self._fan_out({service: (service, "erase_person") for service in DATA_SERVICES
                                if service != "identity"}, person_id)
        erased_at = others["marketing"].pop("erased_at", None)
        return {"person_id": person_id, "erased_at": erased_at, "services": {"identity": identity, **others}}

    @route("GET", "/persons/<string:person_id>/erase-preview", summary="What erasing this person would anonymise "
           "and retain, per service (the erasure's own code, rolled back: nothing changes)", tag=TAG, roles=STAFF)
    def erase_preview(self, request, principal, person_id):
        self.rpc.identity.get_person(person_id, principal.visible_organisations())
        services = self._fan_out({service: (service, "erase_preview") for service in DATA_SERVICES}, person_id)
        return {"person_id": person_id, "services": services}

    def _fan_out(self, calls: dict, *args) -> dict:
        """{key: (service, method)} called in parallel with `args`; every one must answer."""
        pending, missing = {}, []
        for key, (service, method) in calls.items():
            try:
                pending[key] = getattr(getattr(self.rpc, service), method).call_async(*args)
            except ServiceUnavailable:
                missing.append(service)
        results = {}
        for key, call in pending.items():
            try:
                results[key] = call.result()
            except (ServiceUnavailable, MethodNotFound):
                missing.append(calls[key][0])
        if missing:
            missing = sorted(set(missing))
            raise ServiceUnavailable(f"Not every service answered: {', '.join(missing)}",
                                     {"service": missing[0], "services": missing})
        return results
