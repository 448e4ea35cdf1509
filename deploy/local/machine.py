"""What broker.py and postgres.py need of this machine: stdlib only, as they run before the
virtualenv exists (both are run as scripts, so they import this as `machine`)."""
import os
import socket
import subprocess
import sys
import time
import urllib.parse

LOOPBACK = ("127.0.0.1", "localhost")


def address(uri: str, default_port: int) -> tuple[str, int]:
    parts = urllib.parse.urlparse(uri)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def answers(host, port, timeout=1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def as_user(user, cmd) -> list:
    """Servers refuse to run as root: drop to their own user when we are root."""
    return ["runuser", "-u", user, "--"] + cmd if os.geteuid() == 0 else cmd


def apt_install(package):
    if os.geteuid() != 0:
        sys.exit(f"{package} is not installed and this is not root: install it first")
    print(f"installing {package} (Debian package)", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, env=env, stdout=subprocess.DEVNULL)


def ensure(name, host, port, start):
    """Reuse a server that answers at host:port, else start a local one; prints "reused" or
    "started" (and the start-up time on stderr)."""
    if answers(host, port):
        print("reused", flush=True)
        return
    if host not in LOOPBACK:
        sys.exit(f"no {name} answers at {host}:{port} and it is not local")
    began = time.time()
    start()
    print("started", flush=True)
    print(f"{name} up in {time.time() - began:.1f}s", file=sys.stderr, flush=True)
