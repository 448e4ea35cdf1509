"""Billing's part of the retention schedule (financial year = calendar year)."""
from sqlalchemy import delete, exists, select, update

from shared.db import utcnow
from shared.retention import Rule, find, keys_after

from services.billing.models import BillingProfile, Invoice, InvoiceLine

SERVICE = "billing"
INVOICE_BASIS = ("Kirjanpitolaki 1336/1997 2:10 §: invoices and their lines are accounting records, kept 10 years "
                 "from the end of the financial year")
SUPPORTING_BASIS = "Kirjanpitolaki 1336/1997 2:10 §: supporting bookkeeping data, 6 years from the end of the year"


def _expired_invoices(session, cutoff, after, limit):
    stmt = select(Invoice.id).where(Invoice.issue_date < cutoff.date())
    return session.scalars(keys_after(stmt, Invoice.id, after, limit)).all()


def _remove_invoices(session, keys, now):
    session.execute(delete(InvoiceLine).where(InvoiceLine.invoice_id.in_(keys)))
    session.execute(delete(Invoice).where(Invoice.id.in_(keys)))


def _expired_profiles(session, cutoff, after, limit):
    """Profiles nobody changed and nothing was invoiced to since the period's start."""
    recent_invoice = exists().where(Invoice.customer_id == BillingProfile.customer_id,
                                    Invoice.issue_date >= cutoff.date())
    stmt = select(BillingProfile.customer_id).where(BillingProfile.erased_at.is_(None),
                                                    BillingProfile.updated_at < cutoff, ~recent_invoice)
    return session.scalars(keys_after(stmt, BillingProfile.customer_id, after, limit)).all()


def _remove_profiles(session, keys, now):
    session.execute(update(BillingProfile).where(BillingProfile.customer_id.in_(keys))
                    .values(email=None, paper_contact=None, paper_address=None, e_invoice_address=None,
                            erased_at=utcnow()))


RULES = [
    Rule("invoices", "invoices and their lines (customer, period, amounts, vehicles)", "10y",
         "end of the financial year of the invoice", INVOICE_BASIS, "deleted", _expired_invoices, _remove_invoices,
         year_end=True),
    Rule("billing_profiles", "billing contact data (email, paper contact and address, e-invoice address)", "6y",
         "end of the year of the last invoice or change", SUPPORTING_BASIS, "anonymised", _expired_profiles,
         _remove_profiles, year_end=True),
]


def invoices_until(issue_date):
    return find(RULES, "invoices").until(SERVICE, issue_date)
