"""pytest plugin: test secrets, migrated per-service databases, isolated RabbitMQ vhosts,
and the whole stack (every service + gateway as real processes) for integration tests.

Isolation: every run uses its own vhost, temp directory and free port, so the suite can
run twice at once and beside `make run`.
"""
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy.orm import Session

from shared.config import ROOT, SERVICES, env
from shared.crypto import new_key
from shared.db import make_engine
from shared.migrate import upgrade

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
             "GATEWAY_RATE_PER_ACCOUNT": "100000", "GATEWAY_BURST_PER_ACCOUNT": "100000"}


def amqp_uri():
    return env("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")


def rabbit_api_uri():
    return env("RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672")


class Vhosts:
    """Create and delete RabbitMQ vhosts through the management API."""

    def __init__(self, api_uri=None):
        parts = urllib.parse.urlparse(api_uri or rabbit_api_uri())
        self.base = f"{parts.scheme}://{parts.hostname}:{parts.port}/api"
        self.auth = (parts.username or "guest", parts.password or "guest")
        self.user = urllib.parse.urlparse(amqp_uri()).username or "guest"

    def create(self, prefix="secto-test") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        requests.put(f"{self.base}/vhosts/{name}", auth=self.auth, timeout=10).raise_for_status()
        requests.put(f"{self.base}/permissions/{name}/{self.user}", auth=self.auth, timeout=10,
                     json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
        return name

    def delete(self, name):
        requests.delete(f"{self.base}/vhosts/{name}", auth=self.auth, timeout=30)

    def uri(self, name) -> str:
        parts = urllib.parse.urlparse(amqp_uri())
        return f"{parts.scheme}://{parts.netloc}/{urllib.parse.quote(name, safe='')}"


@pytest.fixture(scope="session", autouse=True)
def test_secrets():
    """Unit tests read keys from the environment like the services do."""
    saved = {name: os.environ.get(name) for name in TEST_SECRETS}
    os.environ.update(TEST_SECRETS)
    yield TEST_SECRETS
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def db_session_factory(tmp_path):
    """db_session_factory('fleet') -> a Session on a fresh SQLite database migrated to head
    (so the tests also prove that models and migrations agree)."""
    engines = []

    def make(service: str) -> Session:
        url = env(f"TEST_{service.upper()}_DATABASE_URL") or f"sqlite:///{tmp_path / (service + '.db')}"
        upgrade(service, url)
        engine = make_engine(url)
        engines.append(engine)
        return Session(engine, expire_on_commit=False)

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def vhost_uri():
    """A fresh vhost for one test; its AMQP URI."""
    vhosts = Vhosts()
    name = vhosts.create()
    yield vhosts.uri(name)
    vhosts.delete(name)


class ApiClient:
    """requests against the gateway, optionally with a bearer token."""

    def __init__(self, base_url, token=None):
        self.base_url = base_url
        self.token = token

    def login(self, username, password) -> "ApiClient":
        response = requests.post(f"{self.base_url}/auth/token", json={"username": username, "password": password},
                                 timeout=10)
        assert response.status_code == 200, response.text
        return ApiClient(self.base_url, response.json()["access_token"])

    def request(self, method, path, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return requests.request(method, f"{self.base_url}{path}", headers=headers, timeout=15, **kwargs)

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

    def client(self, token=None) -> ApiClient:
        return ApiClient(self.base_url, token)

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

    def drop(self):
        self._execute([f"DROP DATABASE IF EXISTS {name} WITH (FORCE)" for name in self.names.values()])


def start_stack(scale=None, extra_env=None, amqp_uri=None):
    """Whole platform on its own vhost (or on `amqp_uri`, e.g. a private broker), temp var
    dir and free port."""
    from deploy.local.stack import Stack, free_port

    vhosts = Vhosts()
    vhost = None if amqp_uri else vhosts.create("secto-stack")
    amqp_uri = amqp_uri or vhosts.uri(vhost)
    var_dir = Path(tempfile.mkdtemp(prefix="secto-stack-"))
    port, web_port = free_port(), free_port()
    stack_env = {**TEST_SECRETS, "AMQP_URI": amqp_uri, "SECTO_VAR_DIR": str(var_dir),
                 "GATEWAY_PORT": str(port), "WEB_PORT": str(web_port), "SECTO_ADMIN_USERNAME": ADMIN[0], "SECTO_ADMIN_PASSWORD": ADMIN[1],
                 **UNLIMITED, **(extra_env or {})}
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
            databases.drop()

    running.stop = stop
    try:
        running.wait_healthy()
    except Exception:
        stop()
        raise
    return running


@pytest.fixture(scope="session")
def stack():
    """The platform, started once for all integration tests of a session."""
    running = start_stack()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def admin(stack) -> ApiClient:
    return stack.admin()


class PrivateBroker:
    """A RabbitMQ node of its own (ports, node name, data dir) for tests that restart the
    broker without disturbing anything else."""

    def __init__(self):
        from deploy.local.machine import answers
        from deploy.local.stack import free_port

        var_dir = Path(tempfile.mkdtemp(prefix="secto-broker-"))
        var_dir.chmod(0o755)  # the broker runs as the rabbitmq user
        port = next(p for p in range(5673, 5700)  # its distribution port is AMQP + 20000
                    if not answers("127.0.0.1", p) and not answers("127.0.0.1", p + 20000))
        self.uri = f"amqp://guest:guest@127.0.0.1:{port}/"
        self.env = {**os.environ, "AMQP_URI": self.uri, "RABBIT_MGMT_PORT": str(free_port()),
                    "SECTO_VAR_DIR": str(var_dir), "RABBITMQ_NODENAME": f"secto-test-{port}@localhost"}

    def _broker(self, command):
        subprocess.run([sys.executable, str(ROOT / "deploy" / "local" / "broker.py"), command], env=self.env,
                       check=True, capture_output=True)

    def start(self):
        self._broker("ensure")

    def stop(self):
        self._broker("stop")


@pytest.fixture
def private_broker():
    broker = PrivateBroker()
    broker.start()
    yield broker
    broker.stop()
