from shared.errors import Conflict, NotFound


class VehicleNotFound(NotFound):
    code = "vehicle_not_found"
    default_message = "Vehicle not found"


class ContractNotFound(NotFound):
    code = "contract_not_found"
    default_message = "Contract not found"


class DealershipNotFound(NotFound):
    code = "dealership_not_found"
    default_message = "Dealership not found"


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"
    default_message = "Delivery not found"


class DuplicateRegistration(Conflict):
    code = "duplicate_registration_number"
    default_message = "A vehicle with this registration number exists"


class IllegalTransition(Conflict):
    code = "illegal_status_transition"
    default_message = "The contract cannot move to that status"


class OpenContractExists(Conflict):
    code = "open_contract_exists"
    default_message = "The vehicle already has an open contract"


class OdometerBackwards(Conflict):
    code = "odometer_backwards"
    default_message = "An odometer reading never goes backwards"
