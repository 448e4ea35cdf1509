import eventlet

from shared import config
from shared.db import dry_run, page
from shared.errors import ServiceUnavailable
from shared.logging import configure
from shared.messaging import PERSONAL_DATA_SERVICES, REQUEST_LOGGED, ClusterRpc, event_handler, rpc
from shared.retention import RetentionEntrypoints
from shared.schemas import load
from shared.service_base import Actor, ServiceBase

from services.identity import models, retention, schemas
from services.identity.dependencies import BootstrapAdmin, Cipher, Database
from services.identity.handlers import (accounts, audit, erasure, organisations, persons, relationships,
                                        roles)

configure("identity")


class IdentityService(RetentionEntrypoints, ServiceBase):
    name = "identity"
    db = Database("identity")
    retention_lease = models.RetentionLease
    cipher = Cipher()
    actor = Actor()
    bootstrap = BootstrapAdmin()
    services = ClusterRpc()

    @property
    def retention_rules(self):
        return retention.rules(self._erase_elsewhere)

    # organisations
    @rpc
    def create_organisation(self, payload):
        organisation = organisations.create_organisation(self.db, load(schemas.OrganisationCreate(), payload))
        return schemas.Organisation().dump(organisation)

    @rpc
    def get_organisation(self, organisation_id, organisation_ids):
        return schemas.Organisation().dump(organisations.get_organisation(self.db, organisation_id, organisation_ids))

    @rpc
    def update_organisation(self, organisation_id, payload):
        organisation = organisations.update_organisation(self.db, organisation_id,
                                                         load(schemas.OrganisationUpdate(), payload))
        return schemas.Organisation().dump(organisation)

    @rpc
    def list_organisations(self, filters, limit, cursor, organisation_ids):
        rows, next_cursor = organisations.list_organisations(
            self.db, load(schemas.OrganisationFilter(), filters), limit, cursor, organisation_ids)
        return page(schemas.Organisation(many=True).dump(rows), next_cursor)

    @rpc
    def group_of(self, organisation_id):
        return organisations.group_of(self.db, organisation_id)

    # persons
    @rpc
    def create_person(self, payload):
        person = persons.create_person(self.db, self.cipher, load(schemas.PersonCreate(), payload))
        return schemas.Person().dump(person)

    @rpc
    def get_person(self, person_id, organisation_ids):
        person = persons.get_person(self.db, person_id, organisation_ids)
        audit.record_access(self.db, self.actor, [person.id], "get_person")
        return schemas.Person().dump(person)

    @rpc
    def update_person(self, person_id, payload, organisation_ids):
        person = persons.update_person(self.db, self.cipher, person_id, load(schemas.PersonUpdate(), payload),
                                       organisation_ids)
        return schemas.Person().dump(person)

    @rpc
    def list_persons(self, filters, limit, cursor, organisation_ids):
        rows, next_cursor = persons.list_persons(self.db, load(schemas.PersonFilter(), filters), limit, cursor,
                                                 organisation_ids)
        audit.record_access(self.db, self.actor, [row.id for row in rows], "list_persons")
        return page(schemas.Person(many=True).dump(rows), next_cursor)

    @rpc
    def search_persons(self, payload):
        found = persons.find_by_national_id(self.db, load(schemas.PersonSearch(), payload)["national_id"])
        audit.record_access(self.db, self.actor, [person.id for person in found], "search_persons")
        return page(schemas.Person(many=True).dump(found), None)

    # roles
    @rpc
    def add_role(self, person_id, payload):
        return schemas.Role().dump(roles.add_role(self.db, person_id, load(schemas.RoleCreate(), payload)))

    @rpc
    def list_roles(self, person_id, organisation_ids):
        rows = roles.list_roles(self.db, person_id, organisation_ids)
        audit.record_access(self.db, self.actor, [person_id], "list_roles")
        return page(schemas.Role(many=True).dump(rows), None)

    @rpc
    def remove_role(self, person_id, role_id):
        roles.remove_role(self.db, person_id, role_id)

    # customer relationships
    @rpc
    def create_customer(self, payload):
        relationship = relationships.create_customer(self.db, load(schemas.CustomerCreate(), payload))
        return schemas.Customer().dump(relationship)

    @rpc
    def get_customer(self, customer_id, organisation_ids):
        return schemas.Customer().dump(relationships.get_customer(self.db, customer_id, organisation_ids))

    @rpc
    def list_customers(self, filters, limit, cursor, organisation_ids):
        rows, next_cursor = relationships.list_customers(self.db, load(schemas.CustomerFilter(), filters), limit,
                                                         cursor, organisation_ids)
        return page(schemas.Customer(many=True).dump(rows), next_cursor)

    @rpc
    def update_customer(self, customer_id, payload):
        relationship = relationships.update_customer(self.db, customer_id, load(schemas.CustomerUpdate(), payload))
        return schemas.Customer().dump(relationship)

    @rpc
    def add_service_order(self, customer_id, payload):
        return schemas.ServiceOrder().dump(
            relationships.add_service_order(self.db, customer_id, load(schemas.ServiceOrderCreate(), payload)))

    @rpc
    def add_satisfaction(self, customer_id, payload):
        return schemas.Satisfaction().dump(
            relationships.add_satisfaction(self.db, customer_id, load(schemas.SatisfactionCreate(), payload)))

    @rpc
    def customer_history(self, customer_id, organisation_ids):
        history = relationships.customer_history(self.db, customer_id, organisation_ids)
        return {"service_orders": schemas.ServiceOrder(many=True).dump(history["service_orders"]),
                "satisfaction": schemas.Satisfaction(many=True).dump(history["satisfaction"])}

    # accounts
    @rpc
    def create_account(self, payload):
        return schemas.Account().dump(accounts.create_account(self.db, load(schemas.AccountCreate(), payload)))

    @rpc
    def get_account(self, account_id, organisation_ids):
        return schemas.Account().dump(accounts.get_account(self.db, account_id, organisation_ids))

    @rpc
    def list_accounts(self, filters, limit, cursor, organisation_ids):
        rows, next_cursor = accounts.list_accounts(self.db, load(schemas.AccountFilter(), filters), limit, cursor,
                                                   organisation_ids)
        return page(schemas.Account(many=True).dump(rows), next_cursor)

    @rpc
    def update_account(self, account_id, payload):
        return schemas.Account().dump(
            accounts.update_account(self.db, account_id, load(schemas.AccountUpdate(), payload), self.actor))

    @rpc
    def change_password(self, account_id, payload, client):
        """client: the caller's address; wrong current passwords count as failed logins."""
        data = load(schemas.PasswordChange(), payload)
        accounts.change_password(self.db, account_id, data["current_password"], data["new_password"], client)

    @rpc
    def issue_token(self, payload, client):
        """client: the caller's address (lockout per username and client)."""
        data = load(schemas.TokenRequest(), payload)
        return accounts.issue_token(self.db, data["username"], data["password"], client)

    @rpc
    def get_principal(self, account_id, token_version):
        return accounts.get_principal(self.db, account_id, token_version)

    # access audit and web usage
    @rpc
    def list_access(self, person_id, limit, cursor=None):
        rows, next_cursor = audit.list_access(self.db, person_id, limit, cursor)
        return page(schemas.AccessAuditEntry(many=True).dump(rows), next_cursor)

    @event_handler("gateway", REQUEST_LOGGED)
    def on_request_logged(self, payload):
        audit.record_usage(self.db, load(schemas.RequestLoggedEvent(), payload)["entries"])

    # personal-data lifecycle
    @rpc
    def export_person(self, person_id):
        data = erasure.export_person(self.db, person_id)
        audit.record_access(self.db, self.actor, [person_id], "export_person")
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
                "web_usage": schemas.WebUsageEntry(many=True).dump(audit.web_usage_of(self.db, person_id))}

    @rpc
    def customers_among(self, person_ids):
        """Marketing's retention asks which of its contacts identity keeps as customers."""
        return retention.customers_among(self.db, person_ids)

    def _erase_elsewhere(self, person_ids):
        """Identity's schedule anonymises these persons: every other service erases them first,
        by the erase_person RPC the staff erasure uses; one that does not answer in time fails
        the batch (retried on the next run)."""
        calls = [(service, self.services[service].erase_person.call_async(person_id))
                 for person_id in person_ids for service in PERSONAL_DATA_SERVICES if service != self.name]
        for service, call in calls:
            with eventlet.Timeout(config.rpc_timeout(), False):
                call.result()
                continue
            raise ServiceUnavailable(f"The {service} service did not answer", {"service": service})

    @rpc
    def erase_person(self, person_id):
        report = erasure.erase_person(self.db, person_id)
        audit.record_access(self.db, self.actor, [person_id], "erase_person")
        report.pop("erased_at")
        return report

    @rpc
    def erase_preview(self, person_id):
        with dry_run(self.db):
            report = erasure.erase_person(self.db, person_id)
        report.pop("erased_at")
        return report
