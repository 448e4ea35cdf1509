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
