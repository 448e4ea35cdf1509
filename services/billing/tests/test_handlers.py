import datetime as dt
import uuid
from decimal import Decimal

import pytest

from shared.db import STAFF_SCOPE
from shared.errors import ValidationFailed
from shared.schemas import load

from services.billing import handlers, schemas

CUSTOMER, OTHER = str(uuid.uuid4()), str(uuid.uuid4())
TODAY = dt.date(2026, 11, 24)


def contract(customer_id, rent="523.40", maintenance="89.95", fee="12.50"):
    return load(schemas.BillableContract(), {
        "contract_id": str(uuid.uuid4()), "customer_id": customer_id, "vehicle_id": str(uuid.uuid4()),
        "registration_number": "ABC-123", "contract_type": "Open Maintenance Leasing", "lease_rent": rent,
        "maintenance_budget": maintenance, "account_fee": fee, "monthly_total": "0"})


def test_run_is_exact_and_idempotent_per_period(session):
    handlers.put_profile(session, CUSTOMER, load(schemas.ProfilePut(), {
        "method": "e_invoice", "e_invoice_address": "003715728600", "operator": "003723327487",
        "payment_terms_days": 21}))
    contracts = [contract(CUSTOMER), contract(CUSTOMER, "0.10", "0.10", "0.10"), contract(OTHER, "1.01", "0", "0")]
    first = handlers.run_invoices(session, "2026-11", contracts, TODAY)
    assert (first["created"], first["existing"], first["total"]) == (2, 0, Decimal("627.16"))
    again = handlers.run_invoices(session, "2026-11", contracts, TODAY)
    assert (again["created"], again["existing"]) == (0, 2)
    invoices, _ = handlers.list_invoices(session, {"period": "2026-11"}, 10, None, STAFF_SCOPE)
    mine = next(i for i in invoices if i.customer_id == CUSTOMER)
    assert mine.total == Decimal("626.15") and len(mine.lines) == 2
    assert (mine.due_date, mine.delivery_method) == (dt.date(2026, 12, 15), "e_invoice")
    other = next(i for i in invoices if i.customer_id == OTHER)
    assert (other.due_date, other.delivery_method) == (dt.date(2026, 12, 8), "paper")
    assert handlers.run_invoices(session, "2026-12", contracts, TODAY)["created"] == 2


@pytest.mark.parametrize("address", ["003715728600", "0037 1572860 0 ABC", "FI2112345600000785", "FI21 1234 5600 0007 85"])
def test_valid_e_invoice_addresses(address):
    data = load(schemas.ProfilePut(), {"method": "e_invoice", "e_invoice_address": address, "operator": "NDEAFIHH"})
    assert " " not in data["e_invoice_address"]


@pytest.mark.parametrize("address", ["003715728601", "003712345678", "FI2112345600000786", "0038157286000", "x"])
def test_invalid_e_invoice_addresses(address):
    with pytest.raises(ValidationFailed) as err:
        load(schemas.ProfilePut(), {"method": "e_invoice", "e_invoice_address": address, "operator": "NDEAFIHH"})
    assert "e_invoice_address" in err.value.details


def test_method_decides_what_is_required():
    with pytest.raises(ValidationFailed) as err:
        load(schemas.ProfilePut(), {"method": "e_invoice"})
    assert set(err.value.details) == {"e_invoice_address", "operator"}
    with pytest.raises(ValidationFailed) as err:
        load(schemas.ProfilePut(), {"method": "email", "paper_address": "Katu 1"})
    assert set(err.value.details) == {"email"}
    with pytest.raises(ValidationFailed) as err:
        load(schemas.ProfilePut(), {"method": "paper", "paper_address": "Katu 1", "payment_terms_days": 500})
    assert set(err.value.details) == {"payment_terms_days"}


def test_erasure_keeps_invoices_with_their_legal_basis(session):
    person = str(uuid.uuid4())
    handlers.put_profile(session, person, load(schemas.ProfilePut(), {"method": "email", "email": "a@b.fi",
                                                                      "paper_address": "Katu 1"}))
    handlers.run_invoices(session, "2026-11", [contract(person)], TODAY)
    report = handlers.erase_person(session, person)
    assert report["retained"][0]["until"] == "2036-12-31" and "Kirjanpitolaki" in report["retained"][0]["legal_basis"]
    assert handlers.get_profile(session, person, STAFF_SCOPE).email is None
    again = handlers.erase_person(session, person)
    assert again == report and report["anonymised"]  # idempotent: the same report every time
