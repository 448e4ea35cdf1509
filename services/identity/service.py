from nameko.events import EventDispatcher
from nameko.rpc import rpc

from shared.db import page
from shared.logging import configure
from shared.messaging import PERSON_CREATED
from shared.schemas import load
from shared.service_base import ServiceBase

from services.identity import handlers, schemas
from services.identity.dependencies import BootstrapAdmin, Cipher, Database

configure("identity")


class IdentityService(ServiceBase):
    name = "identity"
    db = Database("identity")
    cipher = Cipher()
    dispatch = EventDispatcher()
    bootstrap = BootstrapAdmin()

    # organisations
    @rpc
    def create_organisation(self, payload):
        data = load(schemas.OrganisationCreate(), payload)
        return schemas.Organisation().dump(handlers.create_organisation(self.db, data))

    @rpc
    def get_organisation(self, organisation_id):
        return schemas.Organisation().dump(handlers.get_organisation(self.db, organisation_id))

    @rpc
    def list_organisations(self, filters, limit, cursor=None, organisation_ids=None):
        rows, next_cursor = handlers.list_organisations(
            self.db, load(schemas.OrganisationFilter(), filters), limit, cursor, organisation_ids)
        return page(schemas.Organisation(many=True).dump(rows), next_cursor)

    # persons
    @rpc
    def create_person(self, payload):
        data = load(schemas.PersonCreate(), payload)
        person = handlers.create_person(self.db, self.cipher, data)
        self.dispatch(PERSON_CREATED, schemas.PersonCreatedEvent().dump(person))
        return schemas.Person().dump(person)

    @rpc
    def get_person(self, person_id):
        return schemas.Person().dump(handlers.get_person(self.db, person_id))

    @rpc
    def list_persons(self, filters, limit, cursor=None):
        rows, next_cursor = handlers.list_persons(self.db, load(schemas.PersonFilter(), filters), limit, cursor)
        return page(schemas.Person(many=True).dump(rows), next_cursor)

    # accounts
    @rpc
    def create_account(self, payload):
        return schemas.Account().dump(handlers.create_account(self.db, load(schemas.AccountCreate(), payload)))

    @rpc
    def issue_token(self, payload):
        data = load(schemas.TokenRequest(), payload)
        return handlers.issue_token(self.db, data["username"], data["password"])

    @rpc
    def get_principal(self, account_id, token_version):
        return handlers.get_principal(self.db, account_id, token_version)
