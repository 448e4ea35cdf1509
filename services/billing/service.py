
from shared.db import dry_run, page
from shared.logging import configure
from shared.messaging import PERSON_ERASED, ServiceRpc, event_handler, rpc
from shared.retention import RetentionEntrypoints
from shared.schemas import PersonErasedEvent, load
from shared.service_base import ServiceBase

from services.billing import handlers, models, retention, schemas
from services.billing.dependencies import Database

configure("billing")


class BillingService(RetentionEntrypoints, ServiceBase):
    name = "billing"
    db = Database("billing")
    retention_rules = retention.RULES
    retention_lease = models.RetentionLease
    fleet = ServiceRpc("fleet")

    # billing profiles
    @rpc
    def put_profile(self, customer_id, payload):
        profile = handlers.put_profile(self.db, customer_id, load(schemas.ProfilePut(), payload))
        return schemas.Profile().dump(profile)

    @rpc
    def get_profile(self, customer_id, customer_ids):
        return schemas.Profile().dump(handlers.get_profile(self.db, customer_id, customer_ids))

    # invoices
    @rpc
    def run_invoices(self, payload):
        period = load(schemas.RunRequest(), payload)["period"]
        contracts = [load(schemas.BillableContract(), row) for row in self.fleet.contracts_for_billing(period)]
        return schemas.RunResult().dump(handlers.run_invoices(self.db, period, contracts))

    @rpc
    def get_invoice(self, invoice_id, customer_ids):
        return schemas.Invoice().dump(handlers.get_invoice(self.db, invoice_id, customer_ids))

    @rpc
    def list_invoices(self, filters, limit, cursor, customer_ids):
        rows, next_cursor = handlers.list_invoices(self.db, load(schemas.InvoiceFilter(), filters), limit, cursor,
                                                   customer_ids)
        return page(schemas.Invoice(many=True).dump(rows), next_cursor)

    # personal-data lifecycle
    @rpc
    def export_person(self, person_id):
        data = handlers.export_person(self.db, person_id)
        return {"role": "controller",
                "profile": schemas.Profile().dump(data["profile"]) if data["profile"] else None,
                "invoices": schemas.Invoice(many=True).dump(data["invoices"])}

    @rpc
    def erase_person(self, person_id):
        return handlers.erase_person(self.db, person_id)

    @rpc
    def erase_preview(self, person_id):
        with dry_run(self.db):
            return handlers.erase_person(self.db, person_id)

    @event_handler("identity", PERSON_ERASED)
    def on_person_erased(self, payload):
        handlers.erase_person(self.db, load(PersonErasedEvent(), payload)["person_id"])
