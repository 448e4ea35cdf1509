"""Runs last (file order): no national id handed to the platform during this test session
is stored or logged in plaintext. Searched byte for byte: every directory a stack or a
private broker of the session wrote (testing.broker.SESSION_VAR_DIRS: SQLite files incl.
WAL, captured logs of every process, the private brokers' message stores, PostgreSQL dumps
of stopped stacks under `make test-postgres`) and a dump of the running stack's PostgreSQL
databases; and the broker's data directory (message store, queue indexes, logs)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.config import ROOT
from testing.broker import SESSION_VAR_DIRS, PrivateBroker
from testing.stack import start_stack

from testing.data import USED_NATIONAL_IDS, unique_national_id

DOCUMENT_NUMBER = "DOCNO-PLAINTEXT-4711"


def live_postgres_dumps(stack) -> dict[str, bytes]:
    urls = {name: url for name, url in stack.env.items() if name.endswith("_DATABASE_URL")}
    return {name: subprocess.run(["pg_dump", "--data-only", "postgresql://" + url.split("://", 1)[1]],
                                 check=True, capture_output=True).stdout for name, url in urls.items()}


def written_files() -> list[Path]:
    return [path for var_dir in dict.fromkeys(SESSION_VAR_DIRS) for path in var_dir.rglob("*") if path.is_file()]


def test_no_national_id_in_any_database_log_or_message_store(stack):
    assert USED_NATIONAL_IDS, "the suite should have created persons with national ids"
    assert stack.var_dir in SESSION_VAR_DIRS
    files = written_files()
    assert stack.log_path in files
    assert stack.env.get("IDENTITY_DATABASE_URL") or stack.var_dir / "identity.db" in files
    needles = [national_id.encode() for national_id in USED_NATIONAL_IDS]
    contents = {**{str(path): path.read_bytes() for path in files}, **live_postgres_dumps(stack)}
    hits = [(name, needle.decode()) for name, content in contents.items() for needle in needles if needle in content]
    assert hits == []


def broker_data_dir(env) -> Path:
    """Where deploy.local.broker keeps the data of the broker of `env` (its mnesia base; the
    module reads its var directory from the environment when imported, hence a process)."""
    code = "from deploy.local import broker; print(broker.broker_env()['RABBITMQ_MNESIA_BASE'])"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout.strip()
    return Path(out).parent  # mnesia/ and log/ both live under the broker's base directory


def broker_bytes(directory: Path) -> dict[str, bytes]:
    files = {str(path): path.read_bytes() for path in directory.rglob("*") if path.is_file()}
    assert any("msg_store" in name or "queues" in name for name in files), f"no message store under {directory}"
    return files


def personal_data_traffic(stack) -> None:
    """Persons, a search, a KYC case and a data export: national ids through RPC, events, exports.
    RabbitMQ keeps a persistent message under 4 KiB in the queue index and a larger one in its
    message store, so both sizes go through."""
    admin = stack.admin()
    for _ in range(3):
        national_id = unique_national_id()
        person = admin.post("/persons", json={"first_name": "Scan", "last_name": "Broker", "national_id": national_id})
        assert person.status_code == 201, person.text
        assert admin.post("/persons/search", json={"national_id": national_id}).status_code == 200
        case = admin.post("/kyc/cases", json={"customer_id": person.json()["id"], "national_id": national_id,
                                              "document_type": "passport", "document_number": DOCUMENT_NUMBER,
                                              "notes": "x" * 4000})  # > 4 KiB: the broker's message store
        assert case.status_code == 201, case.text
        assert admin.get(f"/persons/{person.json()['id']}/export").status_code in (200, 503)


def hits_in(stored: dict[str, bytes]) -> list:
    secrets = [national_id.encode() for national_id in USED_NATIONAL_IDS] + [DOCUMENT_NUMBER.encode()]
    return [(name, secret) for name, content in stored.items() for secret in secrets if secret in content]


@pytest.fixture
def broker_after_a_run(stack):
    """The data directory of the suite's broker when the suite started it; else (a broker it
    did not start, whose data it may not read) a private broker with a stack of its own."""
    if os.environ.get("SECTO_TEST_BROKER_STARTED"):
        personal_data_traffic(stack)
        yield broker_data_dir(dict(os.environ))
        return
    broker = PrivateBroker()
    broker.start()
    try:
        private = start_stack(amqp_uri=broker.uri)
        try:
            personal_data_traffic(private)
        finally:
            private.stop()
        broker.stop()  # everything the broker keeps is on disk now
        yield broker_data_dir(broker.env)
    finally:
        broker.stop()


def test_no_national_id_on_the_brokers_disk(broker_after_a_run):
    assert hits_in(broker_bytes(broker_after_a_run)) == []
