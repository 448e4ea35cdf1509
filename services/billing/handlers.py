"""Billing use cases: plain functions over the entrypoint's Session (shared.db: the unit of
work commits once when the entrypoint returned)."""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shared.db import in_scope, new_id, paginate, utcnow, visible

from services.billing import exceptions as exc, retention
from services.billing.models import DEFAULT_TERMS_DAYS, BillingProfile, Invoice, InvoiceLine


def put_profile(session, customer_id, data) -> BillingProfile:
    """The whole unit of work is this put: on a race it starts over."""
    profile = session.get(BillingProfile, customer_id)
    if profile is None:
        profile = BillingProfile(customer_id=customer_id)
        session.add(profile)
    for field, value in data.items():
        setattr(profile, field, value)
    profile.erased_at = None
    try:
        session.flush()
    except IntegrityError:  # created concurrently: the later write wins
        session.rollback()
        return put_profile(session, customer_id, data)
    return profile


def get_profile(session, customer_id, customer_ids) -> BillingProfile:
    profile = session.get(BillingProfile, customer_id)
    if profile is None or not visible(customer_id, customer_ids):
        raise exc.ProfileNotFound()
    return profile


def run_invoices(session, period: str, contracts: list[dict], today: dt.date | None = None) -> dict:
    """One invoice per customer and period with a line per active contract. A customer
    already invoiced for the period is left as it is, so a second run creates nothing. The
    run is one unit of work: when a concurrent run invoiced a customer first, it starts over
    and finds that invoice."""
    today = today or dt.date.today()
    by_customer = defaultdict(list)
    for contract in contracts:
        by_customer[contract["customer_id"]].append(contract)
    for _ in range(len(by_customer)):
        try:
            return _invoice_customers(session, period, by_customer, today)
        except IntegrityError:  # each retry finds at least one more customer invoiced
            session.rollback()
    return _invoice_customers(session, period, by_customer, today)


def _invoice_customers(session, period, by_customer, today) -> dict:
    created, existing = [], 0
    for customer_id, customer_contracts in sorted(by_customer.items()):
        if _invoice_of(session, customer_id, period) is not None:
            existing += 1
            continue
        created.append(_new_invoice(session, customer_id, period, customer_contracts, today))
        session.flush()
    return {"period": period, "created": len(created), "existing": existing,
            "invoice_ids": [invoice.id for invoice in created],
            "total": sum((invoice.total for invoice in created), Decimal("0.00"))}


def _invoice_of(session, customer_id, period):
    return session.scalars(select(Invoice).where(Invoice.customer_id == customer_id,
                                                 Invoice.period == period)).first()


def _new_invoice(session, customer_id, period, contracts, today) -> Invoice:
    profile = session.get(BillingProfile, customer_id)
    terms = profile.payment_terms_days if profile else DEFAULT_TERMS_DAYS
    invoice_id = new_id()
    lines = [InvoiceLine(contract_id=c["contract_id"], vehicle_id=c["vehicle_id"],
                         registration_number=c["registration_number"],
                         description=f"{c['contract_type']} {c['registration_number']} {period}",
                         lease_rent=c["lease_rent"], maintenance_budget=c["maintenance_budget"],
                         account_fee=c["account_fee"],
                         amount=c["lease_rent"] + c["maintenance_budget"] + c["account_fee"]) for c in contracts]
    invoice = Invoice(id=invoice_id, number=f"{period.replace('-', '')}-{invoice_id[:8].upper()}",
                      customer_id=customer_id, period=period, issue_date=today,
                      due_date=today + dt.timedelta(days=terms), delivery_method=profile.method if profile else "paper",
                      total=sum((line.amount for line in lines), Decimal("0.00")), lines=lines)
    session.add(invoice)
    return invoice


def get_invoice(session, invoice_id, customer_ids) -> Invoice:
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or not visible(invoice.customer_id, customer_ids):
        raise exc.InvoiceNotFound()
    return invoice


def list_invoices(session, filters, limit, cursor, customer_ids):
    stmt = select(Invoice).where(in_scope(Invoice.customer_id, customer_ids))
    for field in ("customer_id", "period", "status"):
        if field in filters:
            stmt = stmt.where(getattr(Invoice, field) == filters[field])
    return paginate(session, stmt, (Invoice.created_at, Invoice.id), limit, cursor)


# --- personal-data lifecycle --------------------------------------------------------

def export_person(session, person_id) -> dict:
    invoices = session.scalars(select(Invoice).where(Invoice.customer_id == person_id)
                               .order_by(Invoice.period)).all()
    return {"profile": session.get(BillingProfile, person_id), "invoices": invoices}


def erase_person(session, person_id) -> dict:
    """The profile's contact and address data go; invoices stay for the bookkeeping period."""
    profile = session.get(BillingProfile, person_id)
    anonymised = []
    if profile is not None:  # the same report every time: erasure is idempotent
        if profile.erased_at is None:
            profile.email = profile.paper_contact = profile.paper_address = profile.e_invoice_address = None
            profile.erased_at = utcnow()
        anonymised.append("billing profile (email, paper contact and address, e-invoice address)")
    invoices = session.scalars(select(Invoice).where(Invoice.customer_id == person_id)).all()
    years = sorted({invoice.issue_date.year for invoice in invoices})
    retained = [{"data": f"invoices issued in {year} ({sum(i.issue_date.year == year for i in invoices)})",
                 "legal_basis": retention.INVOICE_BASIS, "until": retention.invoices_until(dt.date(year, 12, 31)),
                 "held_for": None}
                for year in years]
    return {"anonymised": anonymised, "retained": retained}
