"""Billing retention with an injected clock: an invoice goes 10 years after its financial year."""
import datetime as dt
import uuid

from shared import retention as schedule
from shared.db import STAFF_SCOPE
from shared.schemas import load

from services.billing import handlers, retention, schemas
from services.billing.models import Invoice, InvoiceLine, RetentionLease
from services.billing.tests.test_handlers import contract

UTC = dt.timezone.utc


def _invoice(session, customer, period):
    year, month = map(int, period.split("-"))
    handlers.run_invoices(session, period, [contract(customer)], dt.date(year, month, 28))


def test_an_invoice_goes_10_years_after_the_end_of_its_financial_year(session):
    customer = str(uuid.uuid4())
    _invoice(session, customer, "2026-12")
    _invoice(session, customer, "2027-01")
    first_day_2037 = dt.datetime(2037, 1, 1, 0, 0, tzinfo=UTC)

    last_day = schedule.run(session, "billing", retention.RULES, RetentionLease, now=first_day_2037 - dt.timedelta(
        seconds=1))
    assert last_day["removed"]["invoices"] == 0  # 31.12.2036 is the last day of the 2026 invoice
    assert schedule.run(session, "billing", retention.RULES, RetentionLease, now=first_day_2037)["removed"][
        "invoices"] == 1
    assert [i.period for i in session.query(Invoice)] == ["2027-01"]
    assert session.query(InvoiceLine).count() == 1  # its lines went with it


def test_billing_contact_data_goes_6_years_after_the_last_invoice(session):
    customer = str(uuid.uuid4())
    handlers.put_profile(session, customer, load(schemas.ProfilePut(), {"method": "email", "email": "a@b.fi"}))
    _invoice(session, customer, "2026-11")
    now = dt.datetime(2033, 1, 2, tzinfo=UTC)
    assert schedule.run(session, "billing", retention.RULES, RetentionLease, now=now)["removed"] == {
        "invoices": 0, "billing_profiles": 1}
    assert handlers.get_profile(session, customer, STAFF_SCOPE).email is None
