"""Issue 14 §4: idle memory of the whole `make run` stack (every service, the gateway and the
web app, one process each, as deploy/local/stack.py starts them): the resident set (VmRSS
of /proc/<pid>/status) of each process and of any child it started, a few seconds after the
stack answered and one authenticated request went through. Target: at most 500 MB in all."""
import os
import time
from pathlib import Path

from testing.stack import start_stack

from deploy.local.stack import process_name

TARGET_MB = 500
SETTLE_SECONDS = float(os.environ.get("BENCH_RSS_SETTLE", "5"))


def rss_kb(pid) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            pass
    return found + [grandchild for child in found for grandchild in children(child)]


def process_rss(pid) -> int:
    """kB resident of the process and its children."""
    return sum(rss_kb(each) for each in [pid] + children(pid))


def measure(stack) -> list[tuple[str, int, int]]:
    """(name, pid, kB) per process of a running stack."""
    rows = []
    for process in stack.stack.processes:
        rows.append((process_name(process.args[-1]), process.pid,
                     process_rss(process.pid)))
    return rows


def report(rows) -> list[str]:
    total_mb = sum(kb for *_, kb in rows) / 1024
    for name, pid, kb in sorted(rows, key=lambda row: -row[2]):
        print(f"  {name:10s} pid {pid:7d}  {kb / 1024:6.1f} MB")
    met = total_mb <= TARGET_MB
    print(f"idle RSS of the stack: {total_mb:.0f} MB in {len(rows)} processes (target <= {TARGET_MB} MB): "
          f"{'met' if met else 'MISSED'}", flush=True)
    return [] if met else [f"idle RSS {total_mb:.0f} MB (target <= {TARGET_MB} MB)"]


def main():
    stack = start_stack()
    try:
        stack.admin().get("/vehicles")  # every import a first request needs is done
        time.sleep(SETTLE_SECONDS)
        return report(measure(stack))
    finally:
        stack.stop()
