"""Fleet lists at scale, through the gateway: first and deep page of GET /vehicles and of
GET /reports/fuel, timed with the fleet table at 10 k rows and again at 100 k vehicles and
1 M fuelings (seeded straight into the fleet service's own database while it runs). Prints
the ratio large / small per request; keyset pagination and indexes keep it near 1.

BENCH_FLEET_VEHICLES (default 100000) and BENCH_FLEET_FUELINGS (default 1000000) scale it down.
"""
import datetime as dt
import os
import random
import statistics
import time
import uuid
from decimal import Decimal

from sqlalchemy import func, insert, select

from shared.db import _encode_cursor, make_engine
from shared.testing import start_stack

from services.fleet.models import Fueling, Vehicle

LARGE_VEHICLES = int(os.environ.get("BENCH_FLEET_VEHICLES", "100000"))
LARGE_FUELINGS = int(os.environ.get("BENCH_FLEET_FUELINGS", "1000000"))
SMALL_VEHICLES, SMALL_FUELINGS = 1_000, 10_000
ORGS = [str(uuid.uuid4()) for _ in range(50)]
REPEAT = 15
CHUNK = 20_000


def seed(engine, vehicles: int, fuelings: int, start: int):
    """Add vehicles numbered from `start` and `fuelings` spread over all vehicles so far."""
    base = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    with engine.begin() as connection:
        for first in range(start, start + vehicles, CHUNK):
            connection.execute(insert(Vehicle), [{
                "id": str(uuid.uuid4()), "registration_number": f"B{i // 1000:03d}-{i % 1000}"[:10],
                "vin": "WVWZZZ1JZXW000001", "make": "Skoda", "model": "Octavia", "vehicle_class": "passenger_car",
                "power_source": "diesel", "co2_g_per_km": 100 + i % 80, "user_organisation_id": ORGS[i % len(ORGS)],
                "cost_center": f"CC-{i % 20}", "status": "in_use", "created_at": base + dt.timedelta(seconds=i),
                "updated_at": base} for i in range(first, min(first + CHUNK, start + vehicles))])
        vehicle_ids = connection.scalars(select(Vehicle.id)).all()
        for first in range(0, fuelings, CHUNK):
            rows = []
            for _ in range(min(CHUNK, fuelings - first)):
                fueled_at = base + dt.timedelta(minutes=random.randrange(0, 60 * 24 * 330))
                rows.append({"fueling_id": str(uuid.uuid4()), "vehicle_id": random.choice(vehicle_ids),
                             "liters": Decimal("42.50"), "amount_eur": Decimal("80.75"), "fueled_at": fueled_at,
                             "month": fueled_at.strftime("%Y-%m"), "product": "Diesel", "company": "Neste"})
            connection.execute(insert(Fueling), rows)


def deep_cursor(engine, fraction=0.9) -> str:
    with engine.connect() as connection:
        total = connection.scalar(select(func.count()).select_from(Vehicle))
        row = connection.execute(select(Vehicle.created_at, Vehicle.id).order_by(Vehicle.created_at, Vehicle.id)
                                 .offset(int(total * fraction)).limit(1)).one()
    return _encode_cursor([row.created_at, row.id])


def timed(admin, path, params) -> float:
    """Median seconds of REPEAT requests (after one warm-up)."""
    assert admin.get(path, params=params).status_code == 200
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        response = admin.get(path, params=params)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return statistics.median(samples)


def measure(admin, engine) -> dict:
    cursor = deep_cursor(engine)
    return {name: timed(admin, path, {"limit": 50, **params}) for name, (path, params) in {
        "GET /vehicles first page": ("/vehicles", {}),
        "GET /vehicles deep page (90 %)": ("/vehicles", {"cursor": cursor}),
        "GET /vehicles?cost_center=CC-7": ("/vehicles", {"cost_center": "CC-7"}),
        "GET /reports/fuel first page": ("/reports/fuel", {}),
        "GET /reports/fuel deep page": ("/reports/fuel", {"cursor": cursor, "from": "2026-03", "to": "2026-09"}),
    }.items()}


def main():
    stack = start_stack()
    try:
        admin = stack.admin()
        engine = make_engine(f"sqlite:///{stack.var_dir / 'fleet.db'}")
        started = time.perf_counter()
        seed(engine, SMALL_VEHICLES, SMALL_FUELINGS, 0)
        small = measure(admin, engine)
        seed(engine, LARGE_VEHICLES - SMALL_VEHICLES, LARGE_FUELINGS - SMALL_FUELINGS, SMALL_VEHICLES)
        print(f"seeded {LARGE_VEHICLES} vehicles and {LARGE_FUELINGS} fuelings in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        large = measure(admin, engine)
        print(f"{'request':34} {'10 k rows':>10} {'large':>10} {'ratio':>6}")
        for name in small:
            print(f"{name:34} {small[name] * 1000:8.1f}ms {large[name] * 1000:8.1f}ms "
                  f"{large[name] / small[name]:6.2f}")
        print(f"worst ratio {max(large[n] / small[n] for n in small):.2f} (target <= 1.5)")
        engine.dispose()
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
