from werkzeug.wrappers import Response

from services.identity import schemas

from shared.errors import ValidationFailed

from gateway.auth import STAFF, STAFF_OR_MANAGER
from gateway.clients import client_address
from gateway.http import created, json_body, page_args, route

TAG = "identity"


def client_of(request) -> str:
    """The client a login lockout is kept for: the person's address, also behind the web app."""
    return client_address(request)[:64]
ANY_ROLE = ("staff", "fleet_manager", "driver")
EXTERNAL_ID_KEYS = "Keys of external_user_ids are 1-50 characters (OpenAPI 3.0 cannot say it of keys)."


class IdentityRoutes:
    @route("POST", "/auth/token", summary="Log in: username and password for a bearer token",
           tag="auth", auth=False, body=schemas.TokenRequest, response=schemas.Token, statuses=(401, 503))
    def issue_token(self, request):
        return self.rpc.identity.issue_token(json_body(request), client_of(request))

    @route("PUT", "/me/password", summary="Change the caller's password (its other tokens stop working)",
           tag="auth", roles=ANY_ROLE, body=schemas.PasswordChange, status=204)
    def change_password(self, request, principal):
        self.rpc.identity.change_password(principal.account_id, json_body(request), client_of(request))
        return Response(status=204)

    # organisations
    @route("POST", "/organisations", summary="Create an organisation", tag=TAG, roles=STAFF,
           body=schemas.OrganisationCreate, response=schemas.Organisation, status=201)
    def create_organisation(self, request, principal):
        return created(self.rpc.identity.create_organisation(json_body(request)))

    @route("GET", "/organisations", summary="List organisations in scope", tag=TAG, roles=STAFF_OR_MANAGER,
           query=schemas.OrganisationFilter, response=schemas.Organisation, paginated=True)
    def list_organisations(self, request, principal):
        filters, limit, cursor = page_args(request)
        return self.rpc.identity.list_organisations(filters, limit, cursor, principal.visible_organisations())

    @route("GET", "/organisations/<string:organisation_id>", summary="Read an organisation", tag=TAG,
           roles=STAFF_OR_MANAGER, response=schemas.Organisation)
    def get_organisation(self, request, principal, organisation_id):
        return self.rpc.identity.get_organisation(organisation_id, principal.visible_organisations())

    @route("PATCH", "/organisations/<string:organisation_id>", summary="Update an organisation (a parent making "
           "a cycle is 409)", tag=TAG, roles=STAFF, body=schemas.OrganisationUpdate, response=schemas.Organisation)
    def update_organisation(self, request, principal, organisation_id):
        return self.rpc.identity.update_organisation(organisation_id, json_body(request))

    # persons
    @route("POST", "/persons", summary="Create a person", tag=TAG, roles=STAFF,
           body=schemas.PersonCreate, response=schemas.Person, status=201)
    def create_person(self, request, principal):
        return created(self.rpc.identity.create_person(json_body(request)))

    @route("GET", "/persons", summary="List persons in scope", tag=TAG,
           roles=STAFF_OR_MANAGER, query=schemas.PersonFilter, response=schemas.Person, paginated=True)
    def list_persons(self, request, principal):
        if "national_id" in request.args:
            raise ValidationFailed("A national id never goes into a URL", {
                "national_id": ["Use POST /persons/search with {\"national_id\": ...} in the body."]})
        filters, limit, cursor = page_args(request)
        result = self.rpc.identity.list_persons(filters, limit, cursor, principal.visible_organisations())
        return {**result, "items": [principal.redact_person(item) for item in result["items"]]}

    @route("POST", "/persons/search", summary="Find a person by national id (in the body, never in a URL)",
           tag=TAG, roles=STAFF, body=schemas.PersonSearch, response=schemas.Person, paginated=True)
    def search_persons(self, request, principal):
        page_args(request)  # a bad limit or cursor is a 400 as on every list; a national id matches one person
        return self.rpc.identity.search_persons(json_body(request))

    @route("GET", "/persons/<string:person_id>", summary="Read a person", tag=TAG, roles=STAFF_OR_MANAGER,
           response=schemas.Person)
    def get_person(self, request, principal, person_id):
        return principal.redact_person(self.rpc.identity.get_person(person_id, principal.visible_organisations()))

    @route("PATCH", "/persons/<string:person_id>", summary="Update a person", tag=TAG, roles=STAFF,
           body=schemas.PersonUpdate, response=schemas.Person)
    def update_person(self, request, principal, person_id):
        return self.rpc.identity.update_person(person_id, json_body(request), principal.visible_organisations())

    @route("GET", "/persons/<string:person_id>/roles", summary="A person's contact and vehicle-user roles",
           tag=TAG, roles=STAFF_OR_MANAGER, response=schemas.Role, paginated=True)
    def list_roles(self, request, principal, person_id):
        page_args(request)  # a person's roles are one page; limit and cursor are still validated
        return self.rpc.identity.list_roles(person_id, principal.visible_organisations())

    @route("POST", "/persons/<string:person_id>/roles", summary="Add a contact / representative / car_user / "
           "decision_maker role", tag=TAG, roles=STAFF, body=schemas.RoleCreate, response=schemas.Role, status=201,
           rules="A contact or representative names organisation_id; a car_user or decision_maker "
           "registration_number.")
    def add_role(self, request, principal, person_id):
        return created(self.rpc.identity.add_role(person_id, json_body(request)))

    @route("DELETE", "/persons/<string:person_id>/roles/<string:role_id>", summary="Remove a role", tag=TAG,
           roles=STAFF, status=204)
    def remove_role(self, request, principal, person_id, role_id):
        self.rpc.identity.remove_role(person_id, role_id)
        return Response(status=204)

    @route("GET", "/persons/<string:person_id>/access-log", summary="Who read this person's data (staff)",
           tag=TAG, roles=STAFF, response=schemas.AccessAuditEntry, paginated=True)
    def access_log(self, request, principal, person_id):
        _, limit, cursor = page_args(request)
        return self.rpc.identity.list_access(person_id, limit, cursor)

    # customer relationships
    @route("POST", "/customers", summary="Create a customer relationship (prospect or customer)", tag=TAG,
           roles=STAFF, body=schemas.CustomerCreate, response=schemas.Customer, status=201,
           rules=EXTERNAL_ID_KEYS)
    def create_customer(self, request, principal):
        return created(self.rpc.identity.create_customer(json_body(request)))

    @route("GET", "/customers", summary="List customer relationships in scope", tag=TAG, roles=STAFF_OR_MANAGER,
           query=schemas.CustomerFilter, response=schemas.Customer, paginated=True)
    def list_customers(self, request, principal):
        filters, limit, cursor = page_args(request)
        return self.rpc.identity.list_customers(filters, limit, cursor, principal.visible_organisations())

    @route("GET", "/customers/<string:customer_id>", summary="Read a customer relationship", tag=TAG,
           roles=STAFF_OR_MANAGER, response=schemas.Customer)
    def get_customer(self, request, principal, customer_id):
        return self.rpc.identity.get_customer(customer_id, principal.visible_organisations())

    @route("PATCH", "/customers/<string:customer_id>", summary="Update; status prospect -> customer -> former "
           "(else 409)", tag=TAG, roles=STAFF, body=schemas.CustomerUpdate, response=schemas.Customer,
           rules=EXTERNAL_ID_KEYS)
    def update_customer(self, request, principal, customer_id):
        return self.rpc.identity.update_customer(customer_id, json_body(request))

    @route("GET", "/customers/<string:customer_id>/history", summary="Service orders and satisfaction responses",
           tag=TAG, roles=STAFF_OR_MANAGER)
    def customer_history(self, request, principal, customer_id):
        return self.rpc.identity.customer_history(customer_id, principal.visible_organisations())

    @route("POST", "/customers/<string:customer_id>/service-orders", summary="Record a service order", tag=TAG,
           roles=STAFF, body=schemas.ServiceOrderCreate, response=schemas.ServiceOrder, status=201)
    def add_service_order(self, request, principal, customer_id):
        return created(self.rpc.identity.add_service_order(customer_id, json_body(request)))

    @route("POST", "/customers/<string:customer_id>/satisfaction", summary="Record a satisfaction response",
           tag=TAG, roles=STAFF, body=schemas.SatisfactionCreate, response=schemas.Satisfaction, status=201)
    def add_satisfaction(self, request, principal, customer_id):
        return created(self.rpc.identity.add_satisfaction(customer_id, json_body(request)))

    # accounts
    @route("POST", "/users", summary="Create an account (staff, fleet_manager or driver)", tag=TAG,
           roles=STAFF, body=schemas.AccountCreate, response=schemas.Account, status=201,
           rules="A driver account names its person_id; a fleet manager its organisation_id and scope.")
    def create_user(self, request, principal):
        return created(self.rpc.identity.create_account(json_body(request)))

    @route("GET", "/users", summary="List accounts in scope", tag=TAG, roles=STAFF_OR_MANAGER,
           query=schemas.AccountFilter, response=schemas.Account, paginated=True)
    def list_users(self, request, principal):
        filters, limit, cursor = page_args(request)
        return self.rpc.identity.list_accounts(filters, limit, cursor, principal.visible_organisations())

    @route("GET", "/users/<string:account_id>", summary="Read an account", tag=TAG, roles=STAFF_OR_MANAGER,
           response=schemas.Account)
    def get_user(self, request, principal, account_id):
        return self.rpc.identity.get_account(account_id, principal.visible_organisations())

    @route("PATCH", "/users/<string:account_id>", summary="Deactivate / reactivate (fleet managers: their "
           "organisations' accounts, `active` only) or change scope (staff)", tag=TAG, roles=STAFF_OR_MANAGER,
           body=schemas.AccountUpdate, response=schemas.Account,
           rules="A fleet manager may change only `active`.")
    def update_user(self, request, principal, account_id):
        body = json_body(request)
        if not principal.is_staff:
            self.rpc.identity.get_account(account_id, principal.visible_organisations())
            if set(body) - {"active"}:
                raise ValidationFailed("Not allowed", {field: ["Only staff may change this."]
                                                       for field in set(body) - {"active"}})
        return self.rpc.identity.update_account(account_id, body)
