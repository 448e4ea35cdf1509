from nameko.events import EventDispatcher

from shared.db import dry_run, page, utcnow
from shared.logging import configure
from shared.messaging import (CUSTOMER_RELATIONSHIP_CHANGED, ORGANISATION_CHANGED, PERSON_CREATED, PERSON_ERASED,
                              PERSON_UPDATED, REQUEST_LOGGED, event_handler, rpc)
from shared.retention import RetentionEntrypoints
from shared.schemas import load
from shared.service_base import Actor, ServiceBase

from services.identity import handlers, models, retention, schemas
from services.identity.dependencies import BootstrapAdmin, Cipher, Database

configure("identity")


class IdentityService(RetentionEntrypoints, ServiceBase):
    name = "identity"
    db = Database("identity")
    retention_rules = retention.RULES
    retention_lease = models.RetentionLease
    cipher = Cipher()
    actor = Actor()
    dispatch = EventDispatcher()
    bootstrap = BootstrapAdmin()

    # organisations
    @rpc
    def create_organisation(self, payload):
        organisation = handlers.create_organisation(self.db, load(schemas.OrganisationCreate(), payload))
        self.dispatch(ORGANISATION_CHANGED, schemas.OrganisationEvent().dump(organisation))
        return schemas.Organisation().dump(organisation)

    @rpc
    def get_organisation(self, organisation_id, organisation_ids):
        return schemas.Organisation().dump(handlers.get_organisation(self.db, organisation_id, organisation_ids))

    @rpc
    def update_organisation(self, organisation_id, payload):
        organisation = handlers.update_organisation(self.db, organisation_id,
                                                    load(schemas.OrganisationUpdate(), payload))
        self.dispatch(ORGANISATION_CHANGED, schemas.OrganisationEvent().dump(organisation))
        return schemas.Organisation().dump(organisation)

    @rpc
    def list_organisations(self, filters, limit, cursor, organisation_ids):
        rows, next_cursor = handlers.list_organisations(
            self.db, load(schemas.OrganisationFilter(), filters), limit, cursor, organisation_ids)
        return page(schemas.Organisation(many=True).dump(rows), next_cursor)

    @rpc
    def group_of(self, organisation_id):
        return handlers.group_of(self.db, organisation_id)

    # persons
    @rpc
    def create_person(self, payload):
        person = handlers.create_person(self.db, self.cipher, load(schemas.PersonCreate(), payload))
        self.dispatch(PERSON_CREATED, schemas.PersonCreatedEvent().dump(person))
        return schemas.Person().dump(person)

    @rpc
    def get_person(self, person_id, organisation_ids):
        person = handlers.get_person(self.db, person_id, organisation_ids)
        handlers.record_access(self.db, self.actor, [person.id], "get_person")
        return schemas.Person().dump(person)

    @rpc
    def update_person(self, person_id, payload, organisation_ids):
        person = handlers.update_person(self.db, self.cipher, person_id, load(schemas.PersonUpdate(), payload),
                                        organisation_ids)
        self.dispatch(PERSON_UPDATED, schemas.PersonCreatedEvent().dump(person))
        return schemas.Person().dump(person)

    @rpc
    def list_persons(self, filters, limit, cursor, organisation_ids):
        rows, next_cursor = handlers.list_persons(self.db, load(schemas.PersonFilter(), filters), limit, cursor,
                                                  organisation_ids)
        handlers.record_access(self.db, self.actor, [row.id for row in rows], "list_persons")
        return page(schemas.Person(many=True).dump(rows), next_cursor)

    @rpc
    def search_persons(self, payload):
        persons = handlers.find_by_national_id(self.db, load(schemas.PersonSearch(), payload)["national_id"])
        handlers.record_access(self.db, self.actor, [person.id for person in persons], "search_persons")
        return page(schemas.Person(many=True).dump(persons), None)

    # roles
    @rpc
    def add_role(self, person_id, payload):
        return schemas.Role().dump(handlers.add_role(self.db, person_id, load(schemas.RoleCreate(), payload)))

    @rpc
    def list_roles(self, person_id, organisation_ids):
        roles = handlers.list_roles(self.db, person_id, organisation_ids)
        handlers.record_access(self.db, self.actor, [person_id], "list_roles")
        return page(schemas.Role(many=True).dump(roles), None)

    @rpc
    def remove_role(self, person_id, role_id):
        handlers.remove_role(self.db, person_id, role_id)

    # customer relationships
    @rpc
    def create_customer(self, payload):
        relationship = handlers.create_customer(self.db, load(schemas.CustomerCreate(), payload))
        self._relationship_changed(relationship)
        return schemas.Customer().dump(relationship)

    @rpc
    def get_customer(self, customer_id, organisation_ids):
        return schemas.Customer().dump(handlers.get_customer(self.db, customer_id, organisation_ids))

    @rpc
    def list_customers(self, filters, limit, cursor, organisation_ids):
        rows, next_cursor = handlers.list_customers(self.db, load(schemas.CustomerFilter(), filters), limit, cursor,
                                                    organisation_ids)
        return page(schemas.Customer(many=True).dump(rows), next_cursor)

    @rpc
    def update_customer(self, customer_id, payload):
        relationship = handlers.update_customer(self.db, customer_id, load(schemas.CustomerUpdate(), payload))
        self._relationship_changed(relationship)
        return schemas.Customer().dump(relationship)

    def _relationship_changed(self, relationship):
        self.dispatch(CUSTOMER_RELATIONSHIP_CHANGED, retention.relationship_changed(self.db, relationship.party_id))

    @rpc
    def add_service_order(self, customer_id, payload):
        return schemas.ServiceOrder().dump(
            handlers.add_service_order(self.db, customer_id, load(schemas.ServiceOrderCreate(), payload)))

    @rpc
    def add_satisfaction(self, customer_id, payload):
        return schemas.Satisfaction().dump(
            handlers.add_satisfaction(self.db, customer_id, load(schemas.SatisfactionCreate(), payload)))

    @rpc
    def customer_history(self, customer_id, organisation_ids):
        history = handlers.customer_history(self.db, customer_id, organisation_ids)
        return {"service_orders": schemas.ServiceOrder(many=True).dump(history["service_orders"]),
                "satisfaction": schemas.Satisfaction(many=True).dump(history["satisfaction"])}

    # accounts
    @rpc
    def create_account(self, payload):
        return schemas.Account().dump(handlers.create_account(self.db, load(schemas.AccountCreate(), payload)))

    @rpc
    def get_account(self, account_id, organisation_ids):
        return schemas.Account().dump(handlers.get_account(self.db, account_id, organisation_ids))

    @rpc
    def list_accounts(self, filters, limit, cursor, organisation_ids):
        rows, next_cursor = handlers.list_accounts(self.db, load(schemas.AccountFilter(), filters), limit, cursor,
                                                   organisation_ids)
        return page(schemas.Account(many=True).dump(rows), next_cursor)

    @rpc
    def update_account(self, account_id, payload):
        return schemas.Account().dump(
            handlers.update_account(self.db, account_id, load(schemas.AccountUpdate(), payload), self.actor))

    @rpc
    def change_password(self, account_id, payload, client):
        """client: the caller's address; wrong current passwords count as failed logins."""
        data = load(schemas.PasswordChange(), payload)
        handlers.change_password(self.db, account_id, data["current_password"], data["new_password"], client)

    @rpc
    def issue_token(self, payload, client):
        """client: the caller's address (lockout per username and client)."""
        data = load(schemas.TokenRequest(), payload)
        return handlers.issue_token(self.db, data["username"], data["password"], client)

    @rpc
    def get_principal(self, account_id, token_version):
        return handlers.get_principal(self.db, account_id, token_version)

    # access audit and web usage
    @rpc
    def list_access(self, person_id, limit, cursor=None):
        rows, next_cursor = handlers.list_access(self.db, person_id, limit, cursor)
        return page(schemas.AccessAuditEntry(many=True).dump(rows), next_cursor)

    @event_handler("gateway", REQUEST_LOGGED)
    def on_request_logged(self, payload):
        handlers.record_usage(self.db, load(schemas.RequestLoggedEvent(), payload)["entries"])

    # personal-data lifecycle
    @rpc
    def export_person(self, person_id):
        data = handlers.export_person(self.db, person_id)
        handlers.record_access(self.db, self.actor, [person_id], "export_person")
        return {
            "role": "controller",
            "person": schemas.Person().dump(data["person"]),
            "roles": schemas.Role(many=True).dump(data["roles"]),
            "customer_relationships": schemas.Customer(many=True).dump(data["customer_relationships"]),
            "customer_history": {key: {"service_orders": schemas.ServiceOrder(many=True).dump(value["service_orders"]),
                                       "satisfaction": schemas.Satisfaction(many=True).dump(value["satisfaction"])}
                                 for key, value in data["history"].items()},
            "accounts": schemas.Account(many=True).dump(data["accounts"]),
            "access_audit": schemas.AccessAuditEntry(many=True).dump(data["access_audit"]),
        }

    @rpc
    def export_web_usage(self, person_id):
        return {"role": "controller",
                "web_usage": schemas.WebUsageEntry(many=True).dump(handlers.web_usage_of(self.db, person_id))}

    @rpc
    def customers_among(self, person_ids):
        """Marketing's retention asks which of its contacts identity keeps as customers."""
        return retention.customers_among(self.db, person_ids)

    def retention_removed(self, category, keys):
        if category in retention.PERSON_RULES:  # anonymised like an erasure: every service hears of it
            for person_id in keys:
                self.dispatch(PERSON_ERASED, {"person_id": person_id, "erased_at": utcnow().isoformat()})

    @rpc
    def erase_person(self, person_id):
        report = handlers.erase_person(self.db, person_id)
        handlers.record_access(self.db, self.actor, [person_id], "erase_person")
        self.dispatch(PERSON_ERASED, {"person_id": person_id, "erased_at": report.pop("erased_at")})
        return report

    @rpc
    def erase_preview(self, person_id):
        with dry_run(self.db):
            report = handlers.erase_person(self.db, person_id)
        report.pop("erased_at")
        return report
