"""Start every service and the gateway as separate `nameko run` processes (one per
service, N for a scaled one), and supervise them: a process that dies is restarted by
itself, with backoff, the others untouched (as Kubernetes restarts a pod's container).
Used by `make run` and by the integration tests."""
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from shared.config import ROOT, SERVICES, amqp_uri
from shared.crypto import new_key

SERVICE_CLASSES = {name: f"services.{name}.service:{name.capitalize()}Service" for name in SERVICES}
GATEWAY_CLASS = "gateway.service:GatewayService"
WEB_COMMAND = "web"  # python -m web
# every process: eventlet's own DNS resolver (dnspython, ~8 MB resident per process) is left
# out; names (the broker's, PostgreSQL's) are resolved once per connection by the C library
LEAN_ENV = {"EVENTLET_NO_GREENDNS": "yes"}


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
        write_private(path, "".join(f"{k}={v}\n" for k, v in values.items()))
    return values


def write_private(path: Path, text: str) -> None:
    """Mode 0600 from the first byte on (never readable by others, not even briefly)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an older file keeps its mode through O_TRUNC
    with os.fdopen(descriptor, "w") as file:
        file.write(text)


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


def process_name(service_path: str) -> str:
    """'services.driver.service:DriverService' -> 'driver'; the gateway -> 'gateway'; the web app -> 'web'."""
    if service_path in (GATEWAY_CLASS, WEB_COMMAND):
        return "gateway" if service_path == GATEWAY_CLASS else "web"
    return service_path.split(".")[1]


def exit_status(code: int) -> str:
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"status {code}"


class Stack:
    # restart backoff: first delay, doubled per quick death up to the maximum; a process that
    # ran STABLE_AFTER seconds starts over at the first delay
    RESTART_MAX, STABLE_AFTER = 30.0, 30.0

    def __init__(self, env: dict, scale: dict | None = None, stdout=None):
        # the web app runs beside the gateway: the gateway trusts its X-Forwarded-For
        self.env = {"GATEWAY_TRUSTED_PROXIES": "127.0.0.1", **LEAN_ENV, **os.environ, **env,
                    "PYTHONWARNINGS": "ignore", "PYTHONUNBUFFERED": "1"}
        # config.yaml takes the broker from the environment; its default is shared.config's
        self.env["AMQP_URI"] = self.env.get("AMQP_URI") or amqp_uri()
        self.scale = scale or {}
        self.stdout = stdout
        self.processes: list[subprocess.Popen] = []
        self.metrics_ports: dict[str, list[int]] = {}
        self.lock = threading.RLock()  # self.processes: the supervisor thread and the caller's
        self.supervisor = None
        self.restart_first = float(self.env.get("SECTO_RESTART_BACKOFF", "1"))
        self.launched: dict[int, tuple[str, dict, float, float]] = {}  # pid -> path, env, started, backoff
        self.pending: list[tuple[float, str, dict, float]] = []  # restarts due: at, path, env, backoff

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
        """The web app (a client of the gateway, SPEC §6) on WEB_PORT, supervised like the rest."""
        return self._launch(WEB_COMMAND, self.env, self.restart_first)

    def start_process(self, service_path):
        """A service process gets a free METRICS_PORT (recorded in self.metrics_ports); the
        gateway serves /api/v1/metrics itself."""
        env = self.env
        if service_path != GATEWAY_CLASS:
            env = {**self.env, "METRICS_PORT": str(free_port())}
        process = self._launch(service_path, env, self.restart_first)
        if service_path != GATEWAY_CLASS:
            self.metrics_ports.setdefault(service_path.split(".")[1], []).append(int(env["METRICS_PORT"]))
        return process

    def _launch(self, service_path, env, backoff):
        command = ([sys.executable, "-m", WEB_COMMAND] if service_path == WEB_COMMAND else
                   [sys.executable, "-m", "nameko", "run", "--config", str(ROOT / "config.yaml"), service_path])
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=self.stdout, stderr=self.stdout,
                                   start_new_session=True)
        with self.lock:
            self.processes.append(process)
            self.launched[process.pid] = (service_path, env, time.monotonic(), backoff)
        return process

    def supervise(self, interval=0.3):
        """Watch the processes in a background thread until stop(): one that exits is logged
        with its exit status and started again (same environment, metrics port included)
        after a backoff; the others keep running."""
        self.supervisor = threading.Thread(target=self._supervise, args=(interval,), name="supervisor",
                                           daemon=True)
        self.supervising = True
        self.supervisor.start()
        return self

    def _supervise(self, interval):
        while self.supervising:
            self.check()
            time.sleep(interval)

    def check(self):
        now = time.monotonic()
        with self.lock:
            for process in [p for p in self.processes if p.poll() is not None]:
                self.processes.remove(process)
                if process.pid not in self.launched:
                    continue
                service_path, env, started, backoff = self.launched.pop(process.pid)
                if now - started >= self.STABLE_AFTER:
                    backoff = self.restart_first
                self.pending.append((now + backoff, service_path, env, min(backoff * 2, self.RESTART_MAX)))
                self.say(f"secto: {process_name(service_path)} (pid {process.pid}) exited with "
                         f"{exit_status(process.returncode)}; restarting it in {backoff:.0f}s")
            for due in [item for item in self.pending if item[0] <= now]:
                self.pending.remove(due)
                _, service_path, env, backoff = due
                process = self._launch(service_path, env, backoff)
                self.say(f"secto: {process_name(service_path)} restarted (pid {process.pid})")

    def say(self, line):
        """Supervisor messages go where the processes' output goes."""
        if self.stdout is None:
            print(line, file=sys.stderr, flush=True)
        else:
            self.stdout.write((line + "\n").encode())
            self.stdout.flush()

    def stop_service(self, name, timeout=15):
        """Stop every process of one service (the supervisor does not restart them)."""
        with self.lock:
            self.pending = [item for item in self.pending if item[1] != SERVICE_CLASSES[name]]
            processes = [p for p in self.processes if p.args[-1] == SERVICE_CLASSES[name]]
        self._stop(processes, timeout)
        self.metrics_ports.pop(name, None)

    def start_service(self, name):
        for _ in range(self.scale.get(name, 1)):
            self.start_process(SERVICE_CLASSES[name])

    def stop(self, timeout=15):
        if self.supervisor is not None:
            self.supervising = False
            self.supervisor.join()
            self.supervisor = None
        self.pending = []
        self._stop(list(self.processes), timeout)

    def _stop(self, processes, timeout):
        """SIGTERM: nameko's handler stops the runner gracefully. (A SIGINT arrives as a
        KeyboardInterrupt in whichever greenlet runs; measured, 1 in 10 was lost while the
        driver handled events.) Killed if still running after `timeout` seconds."""
        with self.lock:  # no longer supervised
            for process in processes:
                if process in self.processes:  # (the supervisor may just have seen it exit)
                    self.processes.remove(process)
                self.launched.pop(process.pid, None)
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

    @property
    def pids(self):
        return [process.pid for process in self.processes]
