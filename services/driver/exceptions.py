from shared.errors import Conflict, NotFound


class ProfileNotFound(NotFound):
    code = "driver_profile_not_found"
    default_message = "Driver profile not found"


class NoVehicle(Conflict):
    code = "no_vehicle_assigned"
    default_message = "No vehicle is assigned to this driver"


class OdometerGap(Conflict):
    code = "odometer_not_continuous"
    default_message = "odometer_start must equal the previous entry's odometer_end unless the gap is explained"


class WashNotIncluded(Conflict):
    code = "celebration_wash_not_included"
    default_message = "The contract does not include the celebration wash add-on"


class ConsentRequired(Conflict):
    code = "location_consent_required"
    default_message = "Location tracking consent is not granted"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    default_message = "This client_id was already used for a different driving log entry"


class WashNotFound(NotFound):
    code = "not_found"
    default_message = "Wash booking not found"


class WashInPast(Conflict):
    code = "wash_in_past"
    default_message = "A wash that has already taken place cannot be cancelled"
