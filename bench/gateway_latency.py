"""Issue 14 §1: `GET /api/v1/vehicles/{id}` (the aggregated vehicle: fleet, driver and
identity behind the gateway) as staff, rate limits off, against the bare nameko pair
(bench.bare_pair) on the same broker, one request of each in turn over keep-alive
connections. Targets: p50 <= 2.0x and p99 <= 3x the bare pair's.

BENCH_LATENCY_ROUNDS (default 300) sets the number of rounds."""
import os
import statistics

import requests

from testing.stack import start_stack

from bench._seed import seed_fleet
from bench.bare_pair import BarePair, describe, percentile, timed

ROUNDS = int(os.environ.get("BENCH_LATENCY_ROUNDS", "300"))
WARMUP = 30
P50_TARGET, P99_TARGET = 2.0, 3.0


def compare(bare_url, vehicle_urls, headers, rounds=ROUNDS) -> tuple[list, list]:
    """Alternating: one bare request, one aggregated vehicle request (cycling through the vehicles)."""
    bare, gateway = requests.Session(), requests.Session()
    for number in range(WARMUP):
        timed(bare, bare_url), timed(gateway, vehicle_urls[number % len(vehicle_urls)], headers=headers)
    bare_times, gateway_times = [], []
    for number in range(rounds):
        bare_times.append(timed(bare, bare_url))
        gateway_times.append(timed(gateway, vehicle_urls[number % len(vehicle_urls)], headers=headers))
    return bare_times, gateway_times


def report(bare_times, gateway_times) -> list[str]:
    p50 = statistics.median(gateway_times) / statistics.median(bare_times)
    p99 = percentile(gateway_times, 0.99) / percentile(bare_times, 0.99)
    print(f"bare nameko pair               {describe(bare_times)}")
    print(f"GET /api/v1/vehicles/{{id}}      {describe(gateway_times)}")
    print(f"aggregated vehicle / bare pair: p50 {p50:.2f}x (target <= {P50_TARGET}), "
          f"p99 {p99:.2f}x (target <= {P99_TARGET}), {len(gateway_times)} alternating rounds: "
          f"{'met' if p50 <= P50_TARGET and p99 <= P99_TARGET else 'MISSED'}", flush=True)
    missed = []
    if p50 > P50_TARGET:
        missed.append(f"aggregated vehicle p50 {p50:.2f}x the bare pair (target <= {P50_TARGET})")
    if p99 > P99_TARGET:
        missed.append(f"aggregated vehicle p99 {p99:.2f}x the bare pair (target <= {P99_TARGET})")
    return missed


def main():
    stack = start_stack()
    pair = None
    try:
        admin = stack.admin()
        vehicle_ids = seed_fleet(admin, 5)
        pair = BarePair()
        urls = [f"{stack.base_url}/vehicles/{vehicle_id}" for vehicle_id in vehicle_ids]
        headers = {"Authorization": f"Bearer {admin.token}"}
        detail = requests.get(urls[0], headers=headers, timeout=15).json()
        assert detail["degraded"] == [] and detail["driver"]["first_name"] == "Bench", detail
        return report(*compare(pair.url, urls, headers))
    finally:
        if pair:
            pair.stop()
        stack.stop()
