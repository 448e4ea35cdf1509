"""Fleet lists at scale: first and deep page of GET /vehicles (also filtered by cost center,
first and deep page) and of GET /reports/fuel, as staff and as company- and group-scope fleet
managers, with 1 k vehicles / 10 k fuelings and with 100 k vehicles / 1 M fuelings, seeded
straight into the fleet databases of two running stacks through its models. Deep pages are
reached by following next_cursor through the API to the end, which also checks that every
vehicle comes exactly once. The benched company owns a fifth of the vehicles and half of
them are in the filtered cost center, so every page is full at 1 k too. Prints the ratio
large / small per request through the gateway and per fleet handler call, the two sizes
timed in turns (so other load on the machine hits both alike); keyset pagination and
indexes keep it near 1. main() returns the targets missed (worst ratio <= 1.5).

BENCH_FLEET_VEHICLES (default 100000) and BENCH_FLEET_FUELINGS (default 1000000) scale it down.
"""
import datetime as dt
import os
import random
import shutil
import statistics
import time
import uuid
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from shared.db import STAFF_SCOPE, make_engine
from shared.schemas import MAX_PAGE_SIZE
from testing.stack import start_stack

from services.fleet.handlers import reports, vehicles
from services.fleet.models import Fueling, Vehicle
from testing.data import created, unique_business_id

LARGE_VEHICLES = int(os.environ.get("BENCH_FLEET_VEHICLES", "100000"))
LARGE_FUELINGS = int(os.environ.get("BENCH_FLEET_FUELINGS", "1000000"))
SMALL_VEHICLES, SMALL_FUELINGS = 1_000, 10_000
OTHER_ORGANISATIONS = 47
REPEAT = 15
HANDLER_REPEAT = 41
RATIO_TARGET = 1.5
COST_CENTER = "CC-1"
CHUNK = 20_000
PAGE = 50
MONTHS = {"from": "2026-03", "to": "2026-09"}
PASSWORD = "Long-enough-password-1"


def seed(engine, organisations, vehicles: int, fuelings: int):
    """Add `vehicles` and `fuelings` spread over them (so a vehicle has about as many
    fuelings at either size, and only the tables grow)."""
    base = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    with engine.begin() as connection:
        for first in range(0, vehicles, CHUNK):
            connection.execute(insert(Vehicle), [{
                "id": str(uuid.uuid4()), "registration_number": f"B{i // 1000:03d}-{i % 1000}"[:10],
                "vin": "WVWZZZ1JZXW000001", "make": "Skoda", "model": "Octavia", "vehicle_class": "passenger_car",
                "power_source": "diesel", "co2_g_per_km": 100 + i % 80,
                "user_organisation_id": organisation_of(organisations, i),
                "cost_center": f"CC-{i // 10 % 2}" if i % 10 < 6 else f"CC-{i // 10 % 20}", "status": "in_use",
                "created_at": base + dt.timedelta(seconds=i),
                "updated_at": base} for i in range(first, min(first + CHUNK, vehicles))])
        vehicle_ids = connection.execute(select(Vehicle.id, Vehicle.user_organisation_id)).all()
        for first in range(0, fuelings, CHUNK):
            rows = []
            for _ in range(min(CHUNK, fuelings - first)):
                fueled_at = base + dt.timedelta(minutes=random.randrange(0, 60 * 24 * 330))
                vehicle_id, organisation_id = random.choice(vehicle_ids)
                rows.append({"fueling_id": str(uuid.uuid4()), "vehicle_id": vehicle_id,
                             "organisation_id": organisation_id,
                             "liters": Decimal("42.50"), "amount_eur": Decimal("80.75"), "fueled_at": fueled_at,
                             "month": fueled_at.strftime("%Y-%m"), "product": "Diesel", "company": "Neste"})
            connection.execute(insert(Fueling), rows)


def organisation_of(organisations, i) -> str:
    """The first three (the benched group) own 20 % of the vehicles each, half of them in
    COST_CENTER, so every scope has full pages, filtered too."""
    return organisations[i % 10 // 2] if i % 10 < 6 else organisations[3 + i % (len(organisations) - 3)]


def group_and_managers(stack, admin):
    """A parent company with two subsidiaries; managers of one subsidiary with company and group scope."""
    def organisation(name, parent=None):
        return created(admin.post("/organisations", json={"name": name, "business_id": unique_business_id(),
                                                          **({"parent_id": parent["id"]} if parent else {})}))

    parent = organisation("Bench Konserni Oyj")
    child, sister = organisation("Bench Tytär Oy", parent), organisation("Bench Sisar Oy", parent)

    def manager(scope):
        username = f"bench-fm-{uuid.uuid4().hex[:8]}"
        created(admin.post("/users", json={"username": username, "password": PASSWORD, "role": "fleet_manager",
                                           "scope": scope, "organisation_id": child["id"]}))
        return stack.client().login(username, PASSWORD)

    return [child["id"], sister["id"], parent["id"]], {"company": manager("company"), "group": manager("group")}


def walk(client, path, expected_vehicles, params=None) -> str | None:
    """Follow next_cursor to the end; returns the deepest cursor with more than a full page
    of vehicles after it. Each vehicle is seen once and only once."""
    cursors, seen, vehicles, cursor = [], set(), set(), None
    limit = max(PAGE, min(MAX_PAGE_SIZE, expected_vehicles // 10))
    while True:
        response = client.get(path, params={**(params or {}), "limit": limit,
                                            **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        keys = [(item.get("vehicle_id", item.get("id")), item.get("month")) for item in body["items"]]
        assert seen.isdisjoint(keys), f"{path}: a row repeated across pages"
        seen.update(keys)
        vehicles.update(vehicle_id for vehicle_id, _ in keys)
        cursor = body["next_cursor"]
        if cursor is None:
            break
        cursors.append((len(vehicles), cursor))
    assert len(vehicles) <= expected_vehicles and (path != "/vehicles" or len(vehicles) == expected_vehicles), \
        f"{path}: walked {len(vehicles)} vehicles, {expected_vehicles} expected"
    return next((cursor for position, cursor in reversed(cursors) if len(vehicles) - position > PAGE), None)


def interleaved(small_call, large_call, repeat) -> tuple[float, float, float, bool]:
    """Small and large timed in turns, so load from elsewhere on the machine hits both alike:
    (median small, median large, median of the per-turn ratios, whether both pages were full)."""
    full = small_call() and large_call()
    pairs = []
    for _ in range(repeat):
        started = time.perf_counter()
        small_call()
        middle = time.perf_counter()
        large_call()
        pairs.append((middle - started, time.perf_counter() - middle))
    return (statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs),
            statistics.median(p[1] / p[0] for p in pairs), full)


def http(client, path, params):
    params = {"limit": PAGE, **{key: value for key, value in params.items() if value is not None}}

    def call():
        response = client.get(path, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        return full_page(body["items"], body["next_cursor"])
    return call


def handler(engine, function, *args):
    def call():
        with Session(engine) as session:
            rows, next_cursor = function(session, *args)
        return full_page([row if isinstance(row, dict) else {"id": row.id} for row in rows], next_cursor)
    return call


def full_page(items, next_cursor) -> bool:
    """More pages follow, or this one has PAGE vehicles (fuel report rows are per vehicle and month)."""
    return next_cursor is not None or len({item.get("vehicle_id", item.get("id")) for item in items}) == PAGE


def deep_pages(clients, engine, organisations) -> dict:
    """Per caller: its scope and the cursors of a deep page of /vehicles and /reports/fuel,
    found by walking each list to its end through the API."""
    def counts(*where):
        with engine.connect() as connection:
            return dict(connection.execute(select(Vehicle.user_organisation_id, func.count()).where(*where)
                                           .group_by(Vehicle.user_organisation_id)).all())

    by_org, filtered_by_org = counts(), counts(Vehicle.cost_center == COST_CENTER)
    scopes = {"staff": STAFF_SCOPE, "company": organisations[:1], "group": organisations[:3]}
    pages = {}
    for who, client in clients.items():
        orgs = list(by_org) if scopes[who] == STAFF_SCOPE else scopes[who]
        expected, filtered = sum(by_org.get(o, 0) for o in orgs), sum(filtered_by_org.get(o, 0) for o in orgs)
        pages[who] = {"scope": scopes[who], "vehicles": walk(client, "/vehicles", expected),
                      "filtered": walk(client, "/vehicles", filtered, {"cost_center": COST_CENTER}),
                      "fuel": walk(client, "/reports/fuel", expected, MONTHS)}
    return pages


def http_calls(clients, pages) -> dict:
    calls = {}
    for who, client in clients.items():
        calls.update({
            f"{who}: GET /vehicles first page": http(client, "/vehicles", {}),
            f"{who}: GET /vehicles deep page": http(client, "/vehicles", {"cursor": pages[who]["vehicles"]}),
            f"{who}: GET /vehicles?cost_center first page": http(client, "/vehicles", {"cost_center": COST_CENTER}),
            f"{who}: GET /vehicles?cost_center deep page": http(client, "/vehicles", {
                "cost_center": COST_CENTER, "cursor": pages[who]["filtered"]}),
            f"{who}: GET /reports/fuel first page": http(client, "/reports/fuel", MONTHS),
            f"{who}: GET /reports/fuel deep page": http(client, "/reports/fuel",
                                                        {**MONTHS, "cursor": pages[who]["fuel"]}),
        })
    return calls


def handler_calls(engine, pages) -> dict:
    months = {"from_month": MONTHS["from"], "to_month": MONTHS["to"]}
    calls = {}
    for who, page in pages.items():
        scope = page["scope"]
        calls.update({
            f"{who}: list_vehicles first page": handler(engine, vehicles.list_vehicles, {}, PAGE, None, scope),
            f"{who}: list_vehicles deep page": handler(engine, vehicles.list_vehicles, {}, PAGE, page["vehicles"],
                                                       scope),
            f"{who}: list_vehicles cost_center first": handler(engine, vehicles.list_vehicles,
                                                               {"cost_center": COST_CENTER}, PAGE, None, scope),
            f"{who}: list_vehicles cost_center deep": handler(engine, vehicles.list_vehicles,
                                                              {"cost_center": COST_CENTER}, PAGE, page["filtered"],
                                                              scope),
            f"{who}: fuel_report first page": handler(engine, reports.fuel_report, months, PAGE, None, scope),
            f"{who}: fuel_report deep page": handler(engine, reports.fuel_report, months, PAGE, page["fuel"],
                                                     scope),
        })
    return calls


def prepared(vehicles, fuelings):
    """A stack whose fleet database holds `vehicles` and `fuelings` of a group and 47 other
    organisations: (stack, engine, callers, their deep-page cursors)."""
    stack = start_stack()
    try:
        admin = stack.admin()
        group, managers = group_and_managers(stack, admin)
        organisations = group + [str(uuid.uuid4()) for _ in range(OTHER_ORGANISATIONS)]
        clients = {"staff": admin, **managers}
        engine = make_engine(f"sqlite:///{stack.var_dir / 'fleet.db'}")
        seed(engine, organisations, vehicles, fuelings)
        return stack, engine, clients, deep_pages(clients, engine, organisations)
    except BaseException:
        stack.stop()
        raise


def report(title, sizes, rows) -> float:
    print(f"{title:52} {'1 k/10 k':>10} {sizes:>12} {'ratio':>6}")
    for name, (small_time, large_time, ratio, full) in rows.items():
        print(f"{name:52} {small_time * 1000:8.2f}ms {large_time * 1000:10.2f}ms {ratio:6.2f}"
              f"{'' if full else '  (page not full)'}")
    worst = max((ratio for _, _, ratio, full in rows.values() if full), default=0)
    print(f"worst ratio {worst:.2f} (target <= {RATIO_TARGET}) over the requests whose page was full at both sizes")
    return worst


def main():
    stacks = []
    try:
        started = time.perf_counter()
        small_stack, small_engine, small_clients, small_pages = prepared(SMALL_VEHICLES, SMALL_FUELINGS)
        stacks.append(small_stack)
        large_stack, large_engine, large_clients, large_pages = prepared(LARGE_VEHICLES, LARGE_FUELINGS)
        stacks.append(large_stack)
        print(f"seeded {LARGE_VEHICLES} vehicles and {LARGE_FUELINGS} fuelings, walked every cursor chain, in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        small_http, large_http = http_calls(small_clients, small_pages), http_calls(large_clients, large_pages)
        gateway = {name: interleaved(small_http[name], large_http[name], REPEAT) for name in small_http}
        small_handlers = handler_calls(small_engine, small_pages)
        large_handlers = handler_calls(large_engine, large_pages)
        direct = {name: interleaved(small_handlers[name], large_handlers[name], HANDLER_REPEAT)
                  for name in small_handlers}
        sizes = f"{LARGE_VEHICLES // 1000} k/{LARGE_FUELINGS // 1000} k"
        missed = []
        for title, rows in ((f"through the gateway (limit {PAGE}, sizes in turns, median of {REPEAT})", gateway),
                            (f"fleet handlers (sizes in turns, median of {HANDLER_REPEAT})", direct)):
            worst = report(title, sizes, rows)
            if worst > RATIO_TARGET:
                missed.append(f"fleet lists {title.split(' (')[0]}: worst ratio {worst:.2f}")
        small_engine.dispose(), large_engine.dispose()
        return missed
    finally:
        for stack in stacks:
            stack.stop()
            shutil.rmtree(stack.var_dir, ignore_errors=True)  # a few hundred MB of seeded databases


if __name__ == "__main__":
    raise SystemExit(1 if main() else 0)
