"""Ensure a PostgreSQL server answers at SECTO_PG_URI; start a loopback one under var/ if not
(used by `make test-postgres`). Stdlib only, like deploy.local.broker.

    python3 -m deploy.local.postgres ensure   # reuse or install+initdb+start; prints "reused" or "started"
    python3 -m deploy.local.postgres stop     # stop the server this repo started (pg_ctl stop on its data dir)
"""
import glob
import os
import subprocess
import sys
from pathlib import Path

from deploy.local.machine import address as parse_address, apt_install, as_user, ensure as ensure_server, server_dir, tail

ROOT = Path(__file__).resolve().parents[2]
VAR = Path(os.environ.get("SECTO_VAR_DIR", ROOT / "var"))
LINK = VAR / "postgres"  # the server's directory, or a symlink to it (see machine.server_dir)
DATA = LINK / "data"
DEFAULT_URI = "postgresql://postgres@127.0.0.1:5433/postgres"
START_TIMEOUT = 60


def address():
    return parse_address(os.environ.get("SECTO_PG_URI", DEFAULT_URI), 5432)


def bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        apt_install("postgresql")
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent


def as_postgres(cmd):
    return as_user("postgres", cmd)


def start():
    bin_dir = bindir()
    base = server_dir("postgres", LINK)
    data, sockets = base / "data", base / "run"
    sockets.mkdir(parents=True, exist_ok=True)
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "postgres:postgres", str(base)], check=True)
        subprocess.run(as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                    "-E", "UTF8"]), check=True, stdout=subprocess.DEVNULL)
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "postgres:postgres", str(base)], check=True)
    host, port = address()
    options = f"-c listen_addresses={host} -c port={port} -c unix_socket_directories={sockets} -c fsync=off"
    log = base / "server.log"
    started = subprocess.run(as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log),
                                          "-w", "-t", str(START_TIMEOUT), "start"]), stdout=subprocess.DEVNULL)
    if started.returncode:
        sys.exit(f"postgres could not start: pg_ctl exited with status {started.returncode}\n"
                 f"--- last lines of {log}:\n{tail(log)}")


def ensure():
    ensure_server("postgres", *address(), start)


def stop():
    if not (DATA / "postmaster.pid").exists():
        return
    subprocess.run(as_postgres([str(bindir() / "pg_ctl"), "-D", str(DATA.resolve()), "-m", "fast", "stop"]),
                   stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    {"ensure": ensure, "stop": stop}[sys.argv[1]]()
