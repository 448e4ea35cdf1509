"""Start every service and the gateway as separate `nameko run` processes (one per
service, N for a scaled one). Used by `make run` and by the integration tests."""
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from shared.config import ROOT, SERVICES
from shared.crypto import new_key

SERVICE_CLASSES = {name: f"services.{name}.service:{name.capitalize()}Service" for name in SERVICES}
GATEWAY_CLASS = "gateway.service:GatewayService"
WEB_COMMAND = "web"  # python -m web


def parse_scale(text: str) -> dict:
    """'driver=3,fleet=2' -> {'driver': 3, 'fleet': 2}; unknown names are an error."""
    scale = {}
    for part in filter(None, (text or "").replace(" ", "").split(",")):
        name, _, count = part.partition("=")
        if name not in SERVICES and name not in ("gateway", "web"):
            raise SystemExit(f"SCALE: unknown service {name!r} (one of {', '.join(SERVICES)})")
        scale[name] = int(count or 1)
    return scale


def dev_secrets(var_dir: Path) -> dict:
    """Secrets from the environment, else generated once into var/secrets.env (dev only)."""
    path = var_dir / "secrets.env"
    stored = {}
    if path.exists():
        stored = dict(line.split("=", 1) for line in path.read_text().split() if "=" in line)
    generated = {"SECTO_SECRET_KEY": secrets.token_urlsafe(48), "SECTO_DATA_KEYS": new_key(),
                 "SECTO_INDEX_KEY": secrets.token_urlsafe(32), "WEB_SECRET_KEY": secrets.token_urlsafe(32)}
    values = {name: os.environ.get(name) or stored.get(name) or generated[name] for name in generated}
    if values != stored:
        path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        path.chmod(0o600)
    return values


def wait_for_port(host, port, timeout, processes=()):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"process {process.args} exited with {process.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing answered on {host}:{port} within {timeout}s")


# Ports handed to a process that binds them later come from below the kernel's ephemeral
# range: a port from bind(0) can meanwhile become the local end of any outgoing connection
# (every AMQP client here makes some), and then the process fails to listen on it.
PORT_RANGE = (20000, 32000)
BROKER_PORTS = range(25600, 25800)  # private brokers' Erlang distribution ports (AMQP + 20000)


def free_port() -> int:
    low, high = PORT_RANGE
    for _ in range(200):
        port = random.SystemRandom().randint(low, high)  # not the seedable module RNG
        if port in BROKER_PORTS:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {low}-{high}")


class Stack:
    def __init__(self, env: dict, scale: dict | None = None, stdout=None):
        # the web app runs beside the gateway: the gateway trusts its X-Forwarded-For
        self.env = {"GATEWAY_TRUSTED_PROXIES": "127.0.0.1", **os.environ, **env, "PYTHONWARNINGS": "ignore",
                    "PYTHONUNBUFFERED": "1"}
        self.scale = scale or {}
        self.stdout = stdout
        self.processes: list[subprocess.Popen] = []
        self.metrics_ports: dict[str, list[int]] = {}

    def migrate(self):
        subprocess.run([sys.executable, "-m", "shared.migrate", "upgrade"], env=self.env, cwd=ROOT,
                       check=True, stdout=self.stdout, stderr=self.stdout)

    def start(self, services=SERVICES, gateway=True, web=True):
        for name in services:
            for _ in range(self.scale.get(name, 1)):
                self.start_process(SERVICE_CLASSES[name])
        if gateway:
            for _ in range(self.scale.get("gateway", 1)):
                self.start_process(GATEWAY_CLASS)
        if web:
            for _ in range(self.scale.get("web", 1)):
                self.start_web()
        return self

    def start_web(self):
        """The web app (a client of the gateway, SPEC §6) on WEB_PORT."""
        process = subprocess.Popen([sys.executable, "-m", WEB_COMMAND], env=self.env, cwd=ROOT, stdout=self.stdout,
                                   stderr=self.stdout, start_new_session=True)
        self.processes.append(process)
        return process

    def start_process(self, service_path):
        """A service process gets a free METRICS_PORT (recorded in self.metrics_ports); the
        gateway serves /api/v1/metrics itself."""
        env = self.env
        if service_path != GATEWAY_CLASS:
            env = {**self.env, "METRICS_PORT": str(free_port())}
        process = subprocess.Popen(
            [sys.executable, "-m", "nameko", "run", "--config", str(ROOT / "config.yaml"), service_path],
            env=env, cwd=ROOT, stdout=self.stdout, stderr=self.stdout, start_new_session=True)
        self.processes.append(process)
        if service_path != GATEWAY_CLASS:
            self.metrics_ports.setdefault(service_path.split(".")[1], []).append(int(env["METRICS_PORT"]))
        return process

    def stop_service(self, name, timeout=15):
        """Stop every process of one service."""
        self._stop([p for p in self.processes if p.args[-1] == SERVICE_CLASSES[name]], timeout)
        self.metrics_ports.pop(name, None)

    def start_service(self, name):
        for _ in range(self.scale.get(name, 1)):
            self.start_process(SERVICE_CLASSES[name])

    def stop(self, timeout=15):
        self._stop(list(self.processes), timeout)

    def _stop(self, processes, timeout):
        """SIGTERM: nameko's handler stops the runner gracefully. (A SIGINT arrives as a
        KeyboardInterrupt in whichever greenlet runs; measured, 1 in 10 was lost while the
        driver handled events.) Killed if still running after `timeout` seconds."""
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.time() + timeout
        for process in processes:
            try:
                process.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            self.processes.remove(process)

    @property
    def pids(self):
        return [process.pid for process in self.processes]
