"""Billing: profiles per customer, the monthly invoice run, invoices within scope."""
from services.billing import schemas

from gateway.auth import STAFF, STAFF_OR_MANAGER
from gateway.http import json_body, page_args, route
from gateway.routes import require_customer

TAG = "billing"


class BillingRoutes:
    @route("PUT", "/billing-profiles/<string:customer_id>", summary="Set how a customer is invoiced: paper, "
           "e-invoice (OVT or IBAN address + operator) or email", tag=TAG, roles=STAFF, body=schemas.ProfilePut,
           response=schemas.Profile, rules="method e_invoice names e_invoice_address and operator; email an email; "
           "paper a paper_address.")
    def put_billing_profile(self, request, principal, customer_id):
        body = json_body(request)
        require_customer(self.rpc, customer_id, principal.visible_organisations())
        return self.rpc.billing.put_profile(customer_id, body)

    @route("GET", "/billing-profiles/<string:customer_id>", summary="A customer's billing profile", tag=TAG,
           roles=STAFF_OR_MANAGER, response=schemas.Profile)
    def get_billing_profile(self, request, principal, customer_id):
        return self.rpc.billing.get_profile(customer_id, principal.visible_organisations())

    @route("POST", "/invoices/run", summary="Invoice a month's active contracts (idempotent per period: a second "
           "run creates nothing)", tag=TAG, roles=STAFF, body=schemas.RunRequest, response=schemas.RunResult)
    def run_invoices(self, request, principal):
        return self.rpc.billing.run_invoices(json_body(request))

    @route("GET", "/invoices", summary="Invoices in scope", tag=TAG, roles=STAFF_OR_MANAGER,
           query=schemas.InvoiceFilter, response=schemas.Invoice, paginated=True)
    def list_invoices(self, request, principal):
        filters, limit, cursor = page_args(request)
        return self.rpc.billing.list_invoices(filters, limit, cursor, principal.visible_organisations())

    @route("GET", "/invoices/<string:invoice_id>", summary="An invoice with its lines", tag=TAG,
           roles=STAFF_OR_MANAGER, response=schemas.Invoice)
    def get_invoice(self, request, principal, invoice_id):
        return self.rpc.billing.get_invoice(invoice_id, principal.visible_organisations())
