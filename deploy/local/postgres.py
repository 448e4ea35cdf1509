"""Ensure a PostgreSQL server answers at SECTO_PG_URI; start a loopback one under var/ if not
(used by `make test-postgres`). Stdlib only, like broker.py.

    python3 deploy/local/postgres.py ensure   # reuse or install+initdb+start; prints "reused" or "started"
    python3 deploy/local/postgres.py stop     # stop the server this repo started (pg_ctl stop on its data dir)
"""
import glob
import os
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VAR = Path(os.environ.get("SECTO_VAR_DIR", ROOT / "var"))
DATA = VAR / "postgres" / "data"
SOCKETS = VAR / "postgres" / "run"
DEFAULT_URI = "postgresql://postgres@127.0.0.1:5433/postgres"
START_TIMEOUT = 60


def address():
    uri = urllib.parse.urlparse(os.environ.get("SECTO_PG_URI", DEFAULT_URI))
    return uri.hostname or "127.0.0.1", uri.port or 5432


def answers(host, port):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        if os.geteuid() != 0:
            sys.exit("PostgreSQL is not installed and this is not root: install it first")
        print("installing postgresql (Debian package)", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent


def as_postgres(cmd):
    return ["runuser", "-u", "postgres", "--"] + cmd if os.geteuid() == 0 else cmd


def start():
    bin_dir = bindir()
    SOCKETS.mkdir(parents=True, exist_ok=True)
    if not (DATA / "PG_VERSION").exists():
        DATA.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "postgres:postgres", str(DATA.parent)], check=True)
        subprocess.run(as_postgres([str(bin_dir / "initdb"), "-D", str(DATA), "-U", "postgres", "--auth=trust",
                                    "-E", "UTF8"]), check=True, stdout=subprocess.DEVNULL)
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "postgres:postgres", str(DATA.parent)], check=True)
    host, port = address()
    options = f"-c listen_addresses={host} -c port={port} -c unix_socket_directories={SOCKETS} -c fsync=off"
    subprocess.run(as_postgres([str(bin_dir / "pg_ctl"), "-D", str(DATA), "-o", options, "-l",
                                str(DATA.parent / "server.log"), "-w", "-t", str(START_TIMEOUT), "start"]),
                   check=True, stdout=subprocess.DEVNULL)


def ensure():
    host, port = address()
    if answers(host, port):
        print("reused", flush=True)
        return
    if host not in ("127.0.0.1", "localhost"):
        sys.exit("no PostgreSQL answers at %s:%s and it is not local" % (host, port))
    began = time.time()
    start()
    print("started", flush=True)
    print("postgres up in %.1fs" % (time.time() - began), file=sys.stderr, flush=True)


def stop():
    if not (DATA / "postmaster.pid").exists():
        return
    subprocess.run(as_postgres([str(bindir() / "pg_ctl"), "-D", str(DATA), "-m", "fast", "stop"]),
                   stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    {"ensure": ensure, "stop": stop}[sys.argv[1]]()
