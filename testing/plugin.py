"""The pytest plugin of the kit (conftest.py: `pytest_plugins = ["testing.plugin"]`): test
secrets in the environment, migrated per-service databases, a vhost per test, the whole
stack once per session, a private broker."""
import os

import pytest
from sqlalchemy.orm import Session

from shared.config import env
from shared.db import make_engine
from shared.migrate import upgrade
from testing.broker import PrivateBroker, Vhosts
from testing.stack import TEST_SECRETS, ApiClient, start_stack


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


@pytest.fixture(scope="session")
def stack():
    """The platform, started once for all integration tests of a session."""
    running = start_stack()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def admin(stack) -> ApiClient:
    return stack.admin()


@pytest.fixture
def private_broker():
    broker = PrivateBroker()
    broker.start()
    yield broker
    broker.stop()
