from shared.errors import NotFound


class ProfileNotFound(NotFound):
    code = "driver_profile_not_found"
    default_message = "Driver profile not found"
