"""Fleet retention with an injected clock: fuelings and replaced driver assignments 6 years
after the end of their year; the current assignment stays."""
import datetime as dt
import uuid
from decimal import Decimal

from shared import retention as schedule

from services.fleet import retention
from services.fleet.models import Fueling, RetentionLease, VehicleAssignment
from services.fleet.tests.test_handlers import vehicle

UTC = dt.timezone.utc


def test_fuelings_and_replaced_assignments_go_6_years_after_their_year(session):
    car = vehicle(session)
    organisation = str(uuid.uuid4())
    for year in (2025, 2026):
        session.add(Fueling(fueling_id=str(uuid.uuid4()), vehicle_id=car.id, person_id=str(uuid.uuid4()),
                            liters=Decimal("40"), fueled_at=dt.datetime(year, 6, 1, tzinfo=UTC), month=f"{year}-06"))
    for year in (2024, 2025, 2026):  # the 2024 driver was replaced in 2025, the 2025 one in 2026
        session.add(VehicleAssignment(vehicle_id=car.id, driver_person_id=str(uuid.uuid4()),
                                      user_organisation_id=organisation,
                                      changed_at=dt.datetime(year, 3, 1, tzinfo=UTC)))
    session.commit()
    before = session.query(VehicleAssignment).count()
    removed = schedule.run(session, "fleet", retention.RULES, RetentionLease,
                           now=dt.datetime(2032, 1, 1, tzinfo=UTC))["removed"]
    assert removed["fuelings"] == 1 and removed["driver_assignments"] == 1
    assert [f.fueled_at.year for f in session.query(Fueling)] == [2026]
    years = sorted(a.changed_at.year for a in session.query(VehicleAssignment))
    assert session.query(VehicleAssignment).count() == before - 1 and 2024 not in years
