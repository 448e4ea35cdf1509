from shared.errors import NotFound


class ProfileNotFound(NotFound):
    code = "billing_profile_not_found"
    default_message = "Billing profile not found"


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"
    default_message = "Invoice not found"
