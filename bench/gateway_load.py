"""Issue 14 §5: throughput under load. 16 concurrent clients (keep-alive sessions, spread over
worker processes of their own so the load generator is not the bottleneck) send a mixed read
workload as staff, rate limits off: the aggregated vehicle, the vehicle list, the contract list
and the person list in turn. Each comparison lasts BENCH_LOAD_SECONDS (default 60) and switches
every BENCH_LOAD_SLICE seconds (default 10) between the stack and the bare nameko pair
(bench.bare_pair), so both see the same machine. Target: the stack with one process per service
answers at least 0.4x the bare pair's requests per second, without an error or a 5xx. Then a
second gateway and a second fleet process join the same stack (what `make run
SCALE=gateway=2,fleet=2` starts) and the comparison runs again to show the scaling.

BENCH_LOAD_CLIENTS (default 16) and BENCH_LOAD_WORKERS (processes, default 4) size the load."""
import multiprocessing
import os
import statistics
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

import requests

from testing.broker import Vhosts
from testing.stack import start_stack

from bench._seed import seed_fleet
from bench.bare_pair import BarePair, percentile
from deploy.local.stack import GATEWAY_CLASS, SERVICE_CLASSES

CLIENTS = int(os.environ.get("BENCH_LOAD_CLIENTS", "16"))
WORKERS = int(os.environ.get("BENCH_LOAD_WORKERS", "4"))
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "60"))
SLICE = float(os.environ.get("BENCH_LOAD_SLICE", "10"))
VEHICLES = 20
RATIO_TARGET = 0.4


def schedule(targets: dict, start: float) -> list[tuple[str, float, float]]:
    """(target name, from, to) slices, the targets in turn, SECONDS in all."""
    names, slices, at = list(targets), [], start
    count = max(len(names), round(SECONDS / SLICE))
    for number in range(count):
        slices.append((names[number % len(names)], at, at + SLICE))
        at += SLICE
    return slices


def client(targets, slices, results, offset):
    """One client: a keep-alive session per target, requests back to back until the last slice ends."""
    sessions = {name: requests.Session() for name in targets}
    done = Counter()
    while True:
        now = time.time()
        current = next(((name, end) for name, begin, end in slices if begin <= now < end), None)
        if current is None:
            if now >= slices[-1][2]:
                return
            time.sleep(min(0.05, slices[0][1] - now))
            continue
        name = current[0]
        urls, headers = targets[name]
        url = urls[(offset + done[name]) % len(urls)]
        done[name] += 1
        started = time.perf_counter()
        try:
            status = sessions[name].get(url, headers=headers, timeout=30).status_code
        except requests.RequestException:
            status = None
        if time.time() <= current[1] + 0.5:  # answered in (or just after) its slice
            results.append((name, time.perf_counter() - started, status))


def worker(targets, slices, clients, first, queue):
    results = []
    threads = [threading.Thread(target=client, args=(targets, slices, results, first + number))
               for number in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(results)


def run_load(targets: dict) -> dict:
    """{target: (requests/s, latencies, statuses)} after SECONDS of load."""
    slices = schedule(targets, time.time() + 2)  # the workers start meanwhile
    queue = multiprocessing.Queue()
    per_worker = [CLIENTS // WORKERS + (1 if number < CLIENTS % WORKERS else 0) for number in range(WORKERS)]
    processes = [multiprocessing.Process(target=worker, args=(targets, slices, clients, sum(per_worker[:number]), queue))
                 for number, clients in enumerate(per_worker) if clients]
    for process in processes:
        process.start()
    results = [row for _ in processes for row in queue.get(timeout=SECONDS + 120)]
    for process in processes:
        process.join()
    measured = {}
    for name in targets:
        seconds = sum(end - begin for target, begin, end in slices if target == name)
        rows = [row for row in results if row[0] == name]
        measured[name] = (len(rows) / seconds, [latency for _, latency, _ in rows],
                          Counter(status for *_, status in rows))
    return measured


def describe(name, rate, latencies, statuses) -> str:
    errors = sum(count for status, count in statuses.items() if status is None or status >= 400)
    server_errors = sum(count for status, count in statuses.items() if status is not None and status >= 500)
    return (f"{name:34s} {rate:7.1f} req/s  p50 {statistics.median(latencies) * 1000:7.1f} ms  "
            f"p99 {percentile(latencies, 0.99) * 1000:7.1f} ms  errors {errors}  5xx {server_errors}")


def compare(label, gateway_targets, bare_url) -> tuple[float, list[str]]:
    targets = {"stack": gateway_targets, "bare": ([bare_url], {})}
    measured = run_load(targets)
    print(f"{CLIENTS} clients, {SECONDS:.0f} s in {SLICE:.0f} s slices alternating ({label}):")
    for name, text in (("bare", "bare nameko pair"), ("stack", f"mixed reads, {label}")):
        print("  " + describe(text, *measured[name]))
    ratio = measured["stack"][0] / measured["bare"][0]
    missed = []
    bad = {status: count for status, count in measured["stack"][2].items() if status is None or status >= 400}
    if bad:
        missed.append(f"load ({label}): errors or non-2xx answers {bad}")
    return ratio, missed


def listening(pid, port) -> bool:
    """Whether process `pid` holds a socket listening on `port` (SO_REUSEPORT: several may)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
            inodes.add(fields[9])
    try:
        links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:
        return False
    return any(link == f"socket:[{inode}]" for link in links for inode in inodes)


def consumers(amqp_uri, queue) -> int:
    vhosts = Vhosts()
    vhost = urllib.parse.quote(urllib.parse.unquote(urllib.parse.urlparse(amqp_uri).path[1:]), safe="")
    answer = requests.get(f"{vhosts.base}/queues/{vhost}/{queue}", auth=vhosts.auth, timeout=10)
    return answer.json().get("consumers", 0) if answer.ok else 0


def scale_up(stack):
    """One more gateway and one more fleet process, as SCALE=gateway=2,fleet=2 would start them."""
    gateway = stack.stack.start_process(GATEWAY_CLASS)
    stack.stack.start_process(SERVICE_CLASSES["fleet"])
    port = int(stack.env["GATEWAY_PORT"])
    deadline = time.time() + 120
    while not (listening(gateway.pid, port) and consumers(stack.amqp_uri, "rpc-fleet") >= 2):
        if time.time() > deadline:
            raise TimeoutError("the second gateway or fleet process did not come up")
        time.sleep(0.5)


def main():
    stack = start_stack()
    pair = None
    try:
        admin = stack.admin()
        vehicle_ids = seed_fleet(admin, VEHICLES)
        pair = BarePair()
        base = stack.base_url
        urls = []
        for vehicle_id in vehicle_ids:
            urls += [f"{base}/vehicles/{vehicle_id}", f"{base}/vehicles?limit=20", f"{base}/contracts?limit=20",
                     f"{base}/persons?limit=20"]
        gateway_targets = (urls, {"Authorization": f"Bearer {admin.token}"})
        single, missed = compare("one process per service", gateway_targets, pair.url)
        print(f"stack / bare pair req/s: {single:.2f} (target >= {RATIO_TARGET}): "
              f"{'met' if single >= RATIO_TARGET and not missed else 'MISSED'}", flush=True)
        if single < RATIO_TARGET:
            missed.append(f"load: {single:.2f}x the bare pair's req/s (target >= {RATIO_TARGET})")
        scale_up(stack)
        scaled, scaled_missed = compare("gateway=2, fleet=2", gateway_targets, pair.url)
        print(f"scaled stack / bare pair req/s: {scaled:.2f} ({scaled / single:.2f}x one process per service)",
              flush=True)
        return missed + scaled_missed
    finally:
        if pair:
            pair.stop()
        stack.stop()
