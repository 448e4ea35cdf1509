import datetime as dt
import uuid
from decimal import Decimal

import pytest

from shared.db import STAFF_SCOPE, MissingScope
from shared.errors import ValidationFailed
from shared.schemas import load

from services.fleet import exceptions as exc
from services.fleet import schemas
from services.fleet.handlers import (contracts, deliveries, fuelings, odometer, reports, service_events, vehicle_detail,
                                     vehicles)
from services.fleet.models import Contract, Vehicle, remaining_months

ORG = str(uuid.uuid4())


def vehicle(session, plate="ABC-123", **overrides):
    data = load(schemas.VehicleCreate(), {
        "registration_number": plate, "vin": "WVWZZZ1JZXW000001", "make": "Skoda", "model": "Octavia",
        "vehicle_class": "passenger_car", "power_source": "diesel", "co2_g_per_km": 120,
        "user_organisation_id": ORG, **overrides})
    return vehicles.create_vehicle(session, data)


def contract(session, vehicle_id, **overrides):
    data = load(schemas.ContractCreate(), {
        "vehicle_id": vehicle_id, "customer_id": ORG, "contract_type": "Open Maintenance Leasing",
        "starts_on": "2026-01-01", "length_months": 36, "lease_rent": "523.40", "maintenance_budget": "89.95",
        "account_fee": "12.50", "included_km": 90000, "start_km": 10, **overrides})
    return contracts.create_contract(session, data)


def test_plate_normalised_and_unique(session):
    assert vehicle(session, "abc123").registration_number == "ABC-123"
    with pytest.raises(exc.DuplicateRegistration):
        vehicle(session, "ABC-123")


def test_vin_with_letter_o_is_rejected():
    with pytest.raises(ValidationFailed) as err:
        load(schemas.VehicleCreate(), {"registration_number": "ABC-123", "vin": "WVWZZZ1JZXW00000O", "make": "a",
                                       "model": "b", "vehicle_class": "van", "power_source": "diesel",
                                       "user_organisation_id": ORG})
    assert "vin" in err.value.details


def test_monthly_total_is_exact_and_derived(session):
    car = vehicle(session)
    deal = contract(session, car.id)
    assert deal.monthly_total == Decimal("625.85")
    assert schemas.Contract().dump(deal)["monthly_total"] == "625.85"
    assert deal.ends_on == dt.date(2028, 12, 31)
    contracts.update_contract(session, deal.id, load(schemas.ContractUpdate(), {"lease_rent": "0.10"}, partial=True))
    assert schemas.Contract().dump(deal)["monthly_total"] == "102.55"


def test_remaining_months(session):
    deal = contract(session, vehicle(session).id)
    assert remaining_months(deal, dt.date(2025, 6, 1)) == 36
    assert remaining_months(deal, dt.date(2026, 1, 1)) == 36
    assert remaining_months(deal, dt.date(2026, 11, 24)) == 25
    assert remaining_months(deal, dt.date(2028, 12, 1)) == 1
    assert remaining_months(deal, dt.date(2029, 2, 1)) == 0
    deal.status = "terminated"
    assert remaining_months(deal, dt.date(2026, 11, 24)) == 0


def test_state_machine(session):
    car = vehicle(session)
    deal = contract(session, car.id)
    assert (deal.status, car.status) == ("ordered", "ordered")
    with pytest.raises(exc.IllegalTransition):
        contracts.update_contract(session, deal.id, {"status": "active"})
    for status in ("awaiting_delivery", "active", "ended"):
        contracts.update_contract(session, deal.id, {"status": status})
    assert car.status == "returned"
    for status in ("active", "terminated", "ordered"):
        with pytest.raises(exc.IllegalTransition):
            contracts.update_contract(session, deal.id, {"status": status})
    other = contract(session, car.id)
    with pytest.raises(exc.OpenContractExists):
        contract(session, car.id)
    contracts.update_contract(session, other.id, {"status": "terminated"})


def test_odometer_never_goes_backwards(session):
    car = vehicle(session)
    add = lambda km, day: odometer.add_reading(session, car.id, {"km": km, "read_on": dt.date(2026, 5, day),
                                                                  "source": "customer"})
    add(1000, 10)
    add(2000, 20)
    with pytest.raises(exc.OdometerBackwards):
        add(1500, 25)  # lower than an earlier reading
    with pytest.raises(exc.OdometerBackwards):
        add(2500, 15)  # higher than a later reading
    add(1500, 15)
    assert odometer.latest_reading(session, car.id, STAFF_SCOPE).km == 2000


def test_fueling_and_trip_events_are_idempotent(session):
    car = vehicle(session)
    fueling = {"fueling_id": str(uuid.uuid4()), "vehicle_id": car.id, "liters": Decimal("40.10"),
               "amount_eur": Decimal("80.20"), "fueled_at": dt.datetime(2026, 11, 3, 8, tzinfo=dt.timezone.utc)}
    assert fuelings.record_fuelings(session, [dict(fueling)]) == 1
    assert fuelings.record_fuelings(session, [dict(fueling), dict(fueling)]) == 0
    trip = {"trip_id": str(uuid.uuid4()), "vehicle_id": car.id, "date": dt.date(2026, 11, 3), "odometer_end": 500}
    assert odometer.record_trip(session, trip).km == 500
    assert odometer.record_trip(session, trip) is None
    backwards = {**trip, "trip_id": str(uuid.uuid4()), "odometer_end": 100}
    assert odometer.record_trip(session, backwards) is None
    rows, _ = reports.fuel_report(session, {}, 10, None, STAFF_SCOPE)
    assert [(r["month"], r["fuelings"], r["liters"], r["amount_eur"]) for r in rows] == [
        ("2026-11", 1, Decimal("40.10"), Decimal("80.20"))]


def test_km_overrun_projection(session):
    car = vehicle(session)
    deal = contract(session, car.id, starts_on="2026-01-01", length_months=12, included_km=10000, start_km=0)
    for status in ("awaiting_delivery", "active"):
        contracts.update_contract(session, deal.id, {"status": status})
    odometer.add_reading(session, car.id, {"km": 6000, "read_on": dt.date(2026, 7, 2), "source": "service_invoice"})
    [row], _ = reports.km_overrun(session, 10, None, STAFF_SCOPE)
    # 182 of 365 days elapsed: 4986 km allowed so far; 6000 km at that pace is 12033 km at the end
    assert (row["allowed_km_to_date"], row["projected_km_at_end"], row["projected_overrun_km"]) == (4986, 12033, 2033)


def test_contracts_for_billing_selects_active_overlapping_the_month(session):
    active = contract(session, vehicle(session, "AAA-111").id, starts_on="2026-11-15", length_months=12)
    for status in ("awaiting_delivery", "active"):
        contracts.update_contract(session, active.id, {"status": status})
    contract(session, vehicle(session, "BBB-222").id)  # ordered, not billed
    assert [c.id for c in contracts.contracts_for_billing(session, "2026-11")] == [active.id]
    assert contracts.contracts_for_billing(session, "2026-10") == []


def test_scope(session):
    car = vehicle(session)
    with pytest.raises(exc.VehicleNotFound):
        vehicles.get_vehicle(session, car.id, [str(uuid.uuid4())])
    assert vehicles.get_vehicle(session, car.id, [ORG]) is car
    rows, _ = vehicles.list_vehicles(session, {}, 10, None, [str(uuid.uuid4())])
    assert rows == []


def test_a_re_leased_vehicles_rows_stay_with_the_organisation_that_used_it_then(session):
    former, current, stranger = ORG, str(uuid.uuid4()), [str(uuid.uuid4())]
    car = vehicle(session)
    old_deal = contract(session, car.id, starts_on="2024-01-01", length_months=12)
    contracts.update_contract(session, old_deal.id, {"status": "terminated"})
    odometer.add_reading(session, car.id, {"km": 1000, "read_on": dt.date(2024, 5, 1), "source": "customer"})
    service_events.add_service_event(session, car.id, {"occurred_on": dt.date(2024, 5, 2), "kind": "maintenance"})
    fueled = {"vehicle_id": car.id, "liters": Decimal("40"), "amount_eur": None,
              "fueled_at": dt.datetime(2024, 5, 3, 8, tzinfo=dt.timezone.utc)}
    fuelings.record_fuelings(session, [{**fueled, "fueling_id": str(uuid.uuid4())}])
    old_delivery = deliveries.create_delivery(session, {"vehicle_id": car.id, "contract_id": old_deal.id})
    vehicles.update_vehicle(session, car.id, {"user_organisation_id": current, "cost_center": "B-1"})
    new_deal = contract(session, car.id, customer_id=current, starts_on="2025-01-01")
    odometer.add_reading(session, car.id, {"km": 2000, "read_on": dt.date(2025, 5, 1), "source": "customer"})
    service_events.add_service_event(session, car.id, {"occurred_on": dt.date(2025, 5, 2), "kind": "wash"})
    fuelings.record_fuelings(session, [{**fueled, "fueling_id": str(uuid.uuid4()),
                                        "fueled_at": dt.datetime(2025, 5, 3, 8, tzinfo=dt.timezone.utc)}])

    def seen_by(scope):
        history = vehicles.vehicle_history(session, car.id, scope, 10, None)[0]
        readings = odometer.list_readings(session, car.id, scope, 10, None)[0]
        events = service_events.list_service_events(session, car.id, scope, 10, None)[0]
        deals = contracts.list_contracts(session, {"vehicle_id": car.id}, 10, None, scope)[0]
        fuel = reports.fuel_report(session, {}, 10, None, scope)[0]
        return ({h.user_organisation_id for h in history}, [r.km for r in readings], [e.kind for e in events],
                [c.id for c in deals], [(row["month"], row["user_organisation_id"], row["cost_center"])
                                            for row in fuel])

    assert seen_by([former]) == ({former}, [1000], ["maintenance"], [old_deal.id], [])
    assert seen_by([current]) == ({current}, [2000], ["wash"], [new_deal.id], [("2025-05", current, "B-1")])
    assert seen_by(STAFF_SCOPE)[1:] == ([1000, 2000], ["maintenance", "wash"], [old_deal.id, new_deal.id],
                                         [("2024-05", former, None), ("2025-05", current, "B-1")])
    with pytest.raises(exc.ContractNotFound):
        contracts.get_contract(session, old_deal.id, [current])
    assert contracts.get_contract(session, old_deal.id, [former]) is old_deal
    with pytest.raises(exc.DeliveryNotFound):
        deliveries.get_delivery(session, old_delivery.id, [current])
    assert deliveries.list_deliveries(session, {}, 10, None, [current])[0] == []
    assert deliveries.list_deliveries(session, {}, 10, None, [former])[0] == [old_delivery]
    detail = vehicle_detail.vehicle_detail(session, car.id, [current])
    assert (detail["contract"].id, detail["latest_odometer"].km, detail["delivery"]) == (new_deal.id, 2000, None)
    with pytest.raises(exc.VehicleNotFound):
        vehicles.get_vehicle(session, car.id, [former])  # the car itself is the current user's now
    with pytest.raises(exc.VehicleNotFound):
        odometer.list_readings(session, car.id, stranger, 10, None)


def test_a_missing_scope_is_an_error_never_everything(session):
    car = vehicle(session)
    for call in (lambda: vehicles.get_vehicle(session, car.id, None),
                 lambda: vehicles.list_vehicles(session, {}, 10, None, None),
                 lambda: contracts.list_contracts(session, {}, 10, None, None),
                 lambda: vehicles.vehicle_history(session, car.id, None, 10, None),
                 lambda: reports.fuel_report(session, {}, 10, None, None),
                 lambda: vehicles.get_vehicle(session, car.id, "everything")):
        with pytest.raises(MissingScope):
            call()


def test_migration_gives_existing_rows_the_vehicles_organisation(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine, text

    from shared.migrate import alembic_config
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    command.upgrade(alembic_config("fleet", url), "f6069b20c722-1")  # before the owner columns
    engine = create_engine(url)
    with engine.begin() as db:
        db.execute(text("INSERT INTO vehicles (id, registration_number, vin, make, model, vehicle_class, power_source, "
                        "user_organisation_id, status, created_at, updated_at) VALUES ('v1', 'OLD-1', 'x', 'm', 'm', "
                        "'van', 'diesel', :org, 'in_use', '2026-01-01', '2026-01-01')"), {"org": ORG})
        db.execute(text("INSERT INTO odometer_readings (id, vehicle_id, km, read_on, source, created_at) "
                        "VALUES ('r1', 'v1', 5, '2026-01-02', 'customer', '2026-01-02')"))
        db.execute(text("INSERT INTO service_events (id, vehicle_id, occurred_on, kind, created_at) "
                        "VALUES ('s1', 'v1', '2026-01-02', 'wash', '2026-01-02')"))
        db.execute(text("INSERT INTO fuelings (fueling_id, vehicle_id, liters, fueled_at, month) "
                        "VALUES ('f1', 'v1', 40, '2026-01-02', '2026-01')"))
        db.execute(text("INSERT INTO deliveries (id, vehicle_id, created_at) VALUES ('d1', 'v1', '2026-01-02')"))
    command.upgrade(alembic_config("fleet", url), "head")
    with engine.connect() as db:
        for table in ("odometer_readings", "service_events", "fuelings", "deliveries"):
            assert db.execute(text(f"SELECT organisation_id FROM {table}")).scalar_one() == ORG
    engine.dispose()


def test_the_contract_state_machine_is_the_models():
    car = Vehicle(status="in_use")
    deal = Contract(status=None)
    deal.place(car)
    assert (deal.status, car.status, deal.next_statuses) == ("ordered", "ordered", ["awaiting_delivery", "terminated"])
    deal.move_to("ordered")  # staying is no move
    with pytest.raises(ValueError):
        deal.move_to("active")
    assert (deal.status, car.status) == ("ordered", "ordered")
    for status, vehicle_status in (("awaiting_delivery", "awaiting_delivery"), ("active", "in_use"),
                                   ("ended", "returned")):
        deal.move_to(status)
        assert (deal.status, car.status) == (status, vehicle_status)
    assert deal.next_statuses == []


def test_a_refused_contract_change_leaves_the_contract_and_its_vehicle_as_they_were(session):
    car = vehicle(session)
    deal = contract(session, car.id)
    with pytest.raises(ValidationFailed):
        contracts.update_contract(session, deal.id, {"status": "awaiting_delivery", "lease_rent": Decimal("1"),
                                                     "ends_on": dt.date(2025, 1, 1)})
    assert (deal.status, deal.lease_rent, deal.ends_on, car.status) == (
        "ordered", Decimal("523.40"), dt.date(2028, 12, 31), "ordered")
    session.commit()  # what the unit of work would commit, had the use case not failed
    session.expire_all()
    assert (deal.status, car.status) == ("ordered", "ordered")
