from shared.errors import Conflict, NotFound, TooManyRequests, Unauthorized


class OrganisationNotFound(NotFound):
    code = "organisation_not_found"
    default_message = "Organisation not found"


class PersonNotFound(NotFound):
    code = "person_not_found"
    default_message = "Person not found"


class AccountNotFound(NotFound):
    code = "account_not_found"
    default_message = "Account not found"


class DuplicateBusinessId(Conflict):
    code = "duplicate_business_id"
    default_message = "An organisation with this business ID exists"


class DuplicateNationalId(Conflict):
    code = "duplicate_national_id"
    default_message = "A person with this national ID exists"


class DuplicateUsername(Conflict):
    code = "duplicate_username"
    default_message = "Username is taken"


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    default_message = "Invalid username or password"


class AccountLocked(TooManyRequests):
    code = "account_locked"
    default_message = "Too many failed logins; try again later"


class RoleNotFound(NotFound):
    code = "role_not_found"
    default_message = "Role not found"


class CustomerNotFound(NotFound):
    code = "customer_not_found"
    default_message = "Customer relationship not found"


class GroupCycle(Conflict):
    code = "group_cycle"
    default_message = "That parent would make the corporate group a cycle"


class IllegalTransition(Conflict):
    code = "illegal_transition"
    default_message = "Illegal status transition"


class CannotDeactivateSelf(Conflict):
    code = "cannot_deactivate_self"
    default_message = "An account cannot deactivate itself"


class LastStaffAccount(Conflict):
    code = "last_staff_account"
    default_message = "The last active staff account cannot be deactivated or erased"


class ReactivationNotAllowed(Conflict):
    code = "reactivation_not_allowed"
    default_message = "A fleet manager may reactivate only the accounts it deactivated itself"
