"""The whole platform for integration tests and benches: every service, the gateway and the
web app as real processes (deploy.local.stack) on their own vhost, temp directory and free
ports, with test secrets and an admin account; a client of its API."""
import secrets
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import requests

from deploy.local.stack import Stack, free_port
from shared.config import SERVICES, env
from shared.crypto import new_key
from testing.broker import SESSION_VAR_DIRS, Vhosts

TEST_SECRETS = {
    "SECTO_SECRET_KEY": secrets.token_urlsafe(48),
    "SECTO_DATA_KEYS": new_key(),
    "SECTO_INDEX_KEY": secrets.token_urlsafe(32),
    "WEB_SECRET_KEY": secrets.token_urlsafe(32),
}
ADMIN = ("test-admin", "Admin-password-123")
# the whole suite calls one test stack from 127.0.0.1: its rate limits are out of the way
# (tests/test_rate_limits.py starts a stack with low ones)
UNLIMITED = {"GATEWAY_RATE_PER_IP": "100000", "GATEWAY_BURST_PER_IP": "100000",
             "GATEWAY_RATE_PER_ACCOUNT": "100000", "GATEWAY_BURST_PER_ACCOUNT": "100000",
             "GATEWAY_RATE_PER_LOGIN_IP": "100000", "GATEWAY_BURST_PER_LOGIN_IP": "100000"}
# the session's admin client logs in once: its token must outlive a session on a loaded machine
# (measured: 24 min on 2 busy cores, past the default 15 min; no test relies on that default)
SESSION_TOKEN_TTL = {"SECTO_TOKEN_TTL": "7200"}


class _FromAddress(requests.adapters.HTTPAdapter):
    def __init__(self, source_ip):
        self.source_ip = source_ip
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs, source_address=(self.source_ip, 0))


class ApiClient:
    """requests against the gateway, optionally with a bearer token; `source_ip` (e.g.
    127.0.0.2: all of 127/8 is loopback) makes it another client for per-IP limits."""

    def __init__(self, base_url, token=None, source_ip=None):
        self.base_url = base_url
        self.token = token
        self.source_ip = source_ip
        self.session = requests  # a new connection per request, unless from another address
        if source_ip:
            self.session = requests.Session()
            self.session.mount("http://", _FromAddress(source_ip))

    def login(self, username, password) -> "ApiClient":
        response = self.post("/auth/token", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return ApiClient(self.base_url, response.json()["access_token"], self.source_ip)

    def request(self, method, path, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        kwargs.setdefault("timeout", 15)
        return self.session.request(method, f"{self.base_url}{path}", headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.request("PUT", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.request("PATCH", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


class RunningStack:
    def __init__(self, stack, base_url, amqp_uri, var_dir, log_path, env, web_url=None):
        self.stack, self.base_url, self.amqp_uri, self.web_url = stack, base_url, amqp_uri, web_url
        self.var_dir, self.log_path, self.env = var_dir, log_path, env

    def client(self, token=None, source_ip=None) -> ApiClient:
        return ApiClient(self.base_url, token, source_ip)

    def admin(self) -> ApiClient:
        return self.client().login(*ADMIN)

    def wait_healthy(self, timeout=60):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            exited = [f"{p.args[-1]} exited with {p.returncode}" for p in self.stack.processes if p.poll() is not None]
            if exited:
                raise RuntimeError(f"{'; '.join(exited)}\nlast lines of {self.log_path}:\n{self.log_tail()}")
            try:
                last = requests.get(f"{self.base_url}/health", timeout=5)
                if last.status_code == 200 and (not self.web_url or
                                                requests.get(f"{self.web_url}/login", timeout=5).ok):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"stack not healthy: {last.text if last is not None else 'no answer'}\n"
                           f"last lines of {self.log_path}:\n{self.log_tail()}")

    def log_tail(self, lines=40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class PostgresDatabases:
    """With SECTO_TEST_POSTGRES_URI (`make test-postgres`) a stack gets one fresh PostgreSQL
    database per service, dropped when it stops."""

    def __init__(self, server_uri):
        self.server_uri = server_uri
        self.names = {service: f"secto_{uuid.uuid4().hex[:8]}_{service}" for service in SERVICES}

    @classmethod
    def from_env(cls):
        uri = env("SECTO_TEST_POSTGRES_URI")
        return cls(uri) if uri else None

    def _execute(self, statements):
        import psycopg2

        connection = psycopg2.connect(self.server_uri)
        connection.autocommit = True
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        connection.close()

    def create(self) -> dict:
        self._execute([f"CREATE DATABASE {name}" for name in self.names.values()])
        base = self.server_uri.rsplit("/", 1)[0]
        return {f"{service.upper()}_DATABASE_URL": f"{base}/{name}" for service, name in self.names.items()}

    def dump(self, directory: Path):
        """Each database's rows as `<service>.pg.sql` in `directory` (for the plaintext scan)."""
        base = "postgresql://" + self.server_uri.split("://", 1)[1].rsplit("/", 1)[0]
        for service, name in self.names.items():
            dumped = subprocess.run(["pg_dump", "--data-only", f"{base}/{name}"], check=True, capture_output=True)
            (directory / f"{service}.pg.sql").write_bytes(dumped.stdout)

    def drop(self):
        self._execute([f"DROP DATABASE IF EXISTS {name} WITH (FORCE)" for name in self.names.values()])


def start_stack(scale=None, extra_env=None, amqp_uri=None, supervise=False):
    """Whole platform on its own vhost (or on `amqp_uri`, e.g. a private broker), temp var
    dir and free port; with `supervise`, a process that dies is restarted as `make run` does."""
    vhosts = Vhosts()
    vhost = None if amqp_uri else vhosts.create("secto-stack")
    amqp_uri = amqp_uri or vhosts.uri(vhost)
    var_dir = Path(tempfile.mkdtemp(prefix="secto-stack-"))
    SESSION_VAR_DIRS.append(var_dir)
    port, web_port = free_port(), free_port()
    stack_env = {**TEST_SECRETS, "AMQP_URI": amqp_uri, "SECTO_VAR_DIR": str(var_dir),
                 "GATEWAY_PORT": str(port), "WEB_PORT": str(web_port), "SECTO_ADMIN_USERNAME": ADMIN[0], "SECTO_ADMIN_PASSWORD": ADMIN[1],
                 **UNLIMITED, **SESSION_TOKEN_TTL, **(extra_env or {})}
    databases = PostgresDatabases.from_env()
    if databases:
        stack_env.update(databases.create())
    log_path = var_dir / "stack.log"
    log = open(log_path, "ab")
    stack = Stack(stack_env, scale, stdout=log)
    stack.migrate()
    stack.start()
    running = RunningStack(stack, f"http://127.0.0.1:{port}/api/v1", amqp_uri, var_dir, log_path, stack_env,
                           f"http://127.0.0.1:{web_port}")

    def stop():
        stack.stop()
        log.close()
        if vhost:
            vhosts.delete(vhost)
        if databases:
            databases.dump(var_dir)
            databases.drop()

    running.stop = stop
    try:
        running.wait_healthy()
    except Exception:
        stop()
        raise
    if supervise:
        stack.supervise()
    return running
