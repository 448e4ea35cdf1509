from services.identity import schemas

from gateway.auth import STAFF, STAFF_OR_MANAGER
from gateway.http import created, json_body, page_args, route

TAG = "identity"


class IdentityRoutes:
    @route("POST", "/auth/token", summary="Log in: username and password for a bearer token",
           tag="auth", auth=False, body=schemas.TokenRequest, response=schemas.Token)
    def issue_token(self, request):
        return self.rpc.identity.issue_token(json_body(request))

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
        principal.require_organisation(organisation_id)
        return self.rpc.identity.get_organisation(organisation_id)

    @route("POST", "/persons", summary="Create a person", tag=TAG, roles=STAFF,
           body=schemas.PersonCreate, response=schemas.Person, status=201)
    def create_person(self, request, principal):
        return created(self.rpc.identity.create_person(json_body(request)))

    @route("GET", "/persons", summary="List persons (staff; exact national_id lookup)", tag=TAG, roles=STAFF,
           query=schemas.PersonFilter, response=schemas.Person, paginated=True)
    def list_persons(self, request, principal):
        filters, limit, cursor = page_args(request)
        return self.rpc.identity.list_persons(filters, limit, cursor)

    @route("GET", "/persons/<string:person_id>", summary="Read a person", tag=TAG, roles=STAFF,
           response=schemas.Person)
    def get_person(self, request, principal, person_id):
        return self.rpc.identity.get_person(person_id)

    @route("POST", "/users", summary="Create an account (staff, fleet_manager or driver)", tag=TAG,
           roles=STAFF, body=schemas.AccountCreate, response=schemas.Account, status=201)
    def create_user(self, request, principal):
        return created(self.rpc.identity.create_account(json_body(request)))
