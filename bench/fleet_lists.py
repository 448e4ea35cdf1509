"""Fleet lists at scale, through the gateway: first and deep page of GET /vehicles and of
GET /reports/fuel, as staff and as company- and group-scope fleet managers, timed with
1 k vehicles / 10 k fuelings and again at 100 k vehicles / 1 M fuelings (seeded straight
into the fleet service's own database through its models while it runs). Deep pages are
reached by following next_cursor through the API, which also checks that the walk
returns every row exactly once. Prints the ratio large / small per request; keyset
pagination and indexes keep it near 1.

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
from sqlalchemy.orm import Session
from stdnum.fi import ytunnus

from shared.db import make_engine
from shared.testing import start_stack

from services.fleet import handlers
from services.fleet.models import Fueling, Vehicle

LARGE_VEHICLES = int(os.environ.get("BENCH_FLEET_VEHICLES", "100000"))
LARGE_FUELINGS = int(os.environ.get("BENCH_FLEET_FUELINGS", "1000000"))
SMALL_VEHICLES, SMALL_FUELINGS = 1_000, 10_000
OTHER_ORGANISATIONS = 47
REPEAT = 15
CHUNK = 20_000
PAGE = 50
PASSWORD = "Long-enough-password-1"


def seed(engine, organisations, vehicles: int, fuelings: int, start: int):
    """Add vehicles numbered from `start` and `fuelings` spread over them (so a vehicle has
    about as many fuelings at either size, and only the tables grow)."""
    base = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    with engine.begin() as connection:
        for first in range(start, start + vehicles, CHUNK):
            connection.execute(insert(Vehicle), [{
                "id": str(uuid.uuid4()), "registration_number": f"B{i // 1000:03d}-{i % 1000}"[:10],
                "vin": "WVWZZZ1JZXW000001", "make": "Skoda", "model": "Octavia", "vehicle_class": "passenger_car",
                "power_source": "diesel", "co2_g_per_km": 100 + i % 80,
                "user_organisation_id": organisation_of(organisations, i),
                "cost_center": f"CC-{i // 10 % 20}", "status": "in_use", "created_at": base + dt.timedelta(seconds=i),
                "updated_at": base} for i in range(first, min(first + CHUNK, start + vehicles))])
        vehicle_ids = connection.scalars(select(Vehicle.id)
                                         .where(Vehicle.created_at >= base + dt.timedelta(seconds=start))).all()
        for first in range(0, fuelings, CHUNK):
            rows = []
            for _ in range(min(CHUNK, fuelings - first)):
                fueled_at = base + dt.timedelta(minutes=random.randrange(0, 60 * 24 * 330))
                rows.append({"fueling_id": str(uuid.uuid4()), "vehicle_id": random.choice(vehicle_ids),
                             "liters": Decimal("42.50"), "amount_eur": Decimal("80.75"), "fueled_at": fueled_at,
                             "month": fueled_at.strftime("%Y-%m"), "product": "Diesel", "company": "Neste"})
            connection.execute(insert(Fueling), rows)


def organisation_of(organisations, i) -> str:
    """The first three (the benched group) own 10 % of the vehicles each, so every scope has full pages."""
    return organisations[i % 10] if i % 10 < 3 else organisations[3 + i % (len(organisations) - 3)]


def business_id() -> str:
    while True:
        base = f"{random.randint(1000000, 9999999)}"
        for digit in "0123456789":
            if ytunnus.is_valid(base + digit):
                return f"{base}-{digit}"


def created(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def group_and_managers(stack, admin):
    """A parent company with two subsidiaries; managers of one subsidiary with company and group scope."""
    def organisation(name, parent=None):
        return created(admin.post("/organisations", json={"name": name, "business_id": business_id(),
                                                          **({"parent_id": parent["id"]} if parent else {})}))

    parent = organisation("Bench Konserni Oyj")
    child, sister = organisation("Bench Tytär Oy", parent), organisation("Bench Sisar Oy", parent)

    def manager(scope):
        username = f"bench-fm-{uuid.uuid4().hex[:8]}"
        created(admin.post("/users", json={"username": username, "password": PASSWORD, "role": "fleet_manager",
                                           "scope": scope, "organisation_id": child["id"]}))
        return stack.client().login(username, PASSWORD)

    return [child["id"], sister["id"], parent["id"]], {"company": manager("company"), "group": manager("group")}


def walk(client, path, expected_vehicles, params=None) -> list[str]:
    """Follow next_cursor to the end; returns the cursors met. Each vehicle is seen once and only once."""
    cursors, seen, cursor = [], set(), None
    while True:
        response = client.get(path, params={**(params or {}), "limit": PAGE,
                                            **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        keys = [(item.get("vehicle_id", item.get("id")), item.get("month")) for item in body["items"]]
        assert seen.isdisjoint(keys), f"{path}: a row repeated across pages"
        seen.update(keys)
        cursor = body["next_cursor"]
        if cursor is None:
            break
        cursors.append(cursor)
    vehicles = {vehicle_id for vehicle_id, _ in seen}
    assert len(vehicles) <= expected_vehicles and (path != "/vehicles" or len(vehicles) == expected_vehicles), \
        f"{path}: walked {len(vehicles)} vehicles, {expected_vehicles} expected"
    return cursors


def deep(cursors, fraction=0.9) -> str:
    return cursors[int(len(cursors) * fraction)] if cursors else None


def timed(call) -> tuple[float, float]:
    """(median, fastest) seconds of REPEAT calls after one warm-up; the fastest is the one
    least disturbed by other load on a shared machine."""
    call()
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), min(samples)


def http(client, path, params):
    params = {"limit": PAGE, **{key: value for key, value in params.items() if value is not None}}

    def call():
        response = client.get(path, params=params)
        assert response.status_code == 200, response.text
    return call


def handler(engine, function, *args):
    def call():
        with Session(engine) as session:
            function(session, *args)
    return call


def measure(clients, engine, organisations) -> dict:
    with engine.connect() as connection:
        total = connection.scalar(select(func.count()).select_from(Vehicle))
        by_org = dict(connection.execute(select(Vehicle.user_organisation_id, func.count())
                                         .group_by(Vehicle.user_organisation_id)).all())
    scopes = {"staff": None, "company": organisations[:1], "group": organisations[:3]}
    expected = {who: total if scope is None else sum(by_org[o] for o in scope) for who, scope in scopes.items()}
    months = {"from": "2026-03", "to": "2026-09"}
    report_filters = {"from_month": months["from"], "to_month": months["to"]}
    calls = {}
    for who, client in clients.items():
        vehicles_deep = deep(walk(client, "/vehicles", expected[who]))
        fuel_deep = deep(walk(client, "/reports/fuel", expected[who], months))
        scope = scopes[who]
        calls.update({
            f"{who}: GET /vehicles first page": http(client, "/vehicles", {}),
            f"{who}: GET /vehicles deep page": http(client, "/vehicles", {"cursor": vehicles_deep}),
            f"{who}: GET /vehicles?cost_center=CC-7": http(client, "/vehicles", {"cost_center": "CC-7"}),
            f"{who}: GET /reports/fuel first page": http(client, "/reports/fuel", months),
            f"{who}: GET /reports/fuel deep page": http(client, "/reports/fuel", {**months, "cursor": fuel_deep}),
            f"{who}: list_vehicles first page": handler(engine, handlers.list_vehicles, {}, PAGE, None, scope),
            f"{who}: list_vehicles deep page": handler(engine, handlers.list_vehicles, {}, PAGE, vehicles_deep, scope),
            f"{who}: list_vehicles cost_center": handler(engine, handlers.list_vehicles, {"cost_center": "CC-7"},
                                                         PAGE, None, scope),
            f"{who}: fuel_report first page": handler(engine, handlers.fuel_report, report_filters, PAGE, None, scope),
            f"{who}: fuel_report deep page": handler(engine, handlers.fuel_report, report_filters, PAGE, fuel_deep,
                                                     scope),
        })
    return {name: timed(call) for name, call in calls.items()}


def main():
    stack = start_stack()
    try:
        admin = stack.admin()
        group, managers = group_and_managers(stack, admin)
        organisations = group + [str(uuid.uuid4()) for _ in range(OTHER_ORGANISATIONS)]
        clients = {"staff": admin, **managers}
        engine = make_engine(f"sqlite:///{stack.var_dir / 'fleet.db'}")
        started = time.perf_counter()
        seed(engine, organisations, SMALL_VEHICLES, SMALL_FUELINGS, 0)
        small = measure(clients, engine, organisations)
        seed(engine, organisations, LARGE_VEHICLES - SMALL_VEHICLES, LARGE_FUELINGS - SMALL_FUELINGS, SMALL_VEHICLES)
        print(f"seeded {LARGE_VEHICLES} vehicles and {LARGE_FUELINGS} fuelings, walked every cursor chain, in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        large = measure(clients, engine, organisations)
        sizes = f"{LARGE_VEHICLES // 1000} k/{LARGE_FUELINGS // 1000} k"
        print(f"{'request or handler call (limit 50; median of 15)':50} {'1 k/10 k':>10} {sizes:>10} {'ratio':>6} "
              f"{'ratio of fastest':>17}")
        for name in small:
            print(f"{name:50} {small[name][0] * 1000:8.1f}ms {large[name][0] * 1000:8.1f}ms "
                  f"{large[name][0] / small[name][0]:6.2f} {large[name][1] / small[name][1]:17.2f}")
        for index, what in enumerate(("medians", "fastest")):
            print(f"worst ratio of {what} {max(large[n][index] / small[n][index] for n in small):.2f} (target <= 1.5)")
        engine.dispose()
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
