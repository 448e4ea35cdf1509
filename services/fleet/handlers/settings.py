"""Per-company settings: how many days before a contract ends its fleet managers are reminded."""
from shared.db import visible
from shared.errors import NotFound

from services.fleet.models import FleetSettings

DEFAULT_REMINDER_DAYS = 90


def _require_visible(organisation_id, scope):
    if not visible(organisation_id, scope):
        raise NotFound("Organisation not found")


def get_settings(session, organisation_id, scope) -> dict:
    _require_visible(organisation_id, scope)
    settings = session.get(FleetSettings, organisation_id)
    days = settings.contract_reminder_days if settings else DEFAULT_REMINDER_DAYS
    return {"organisation_id": organisation_id, "contract_reminder_days": days}


def put_settings(session, organisation_id, data, scope) -> dict:
    _require_visible(organisation_id, scope)
    settings = session.get(FleetSettings, organisation_id) or FleetSettings(organisation_id=organisation_id)
    settings.contract_reminder_days = data["contract_reminder_days"]
    session.add(settings)
    return get_settings(session, organisation_id, scope)
