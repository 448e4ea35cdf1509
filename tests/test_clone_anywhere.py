"""Issue 12 §9: `make run` and `make test` start wherever a user clones — also a 0700
directory of root, which the `rabbitmq` (and `postgres`) user cannot enter; a server that
cannot start says why, with the last lines of its log; `make test-postgres` stops the
PostgreSQL server it started."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pika
import pytest

from deploy.local.machine import answers, reachable_by
from deploy.local.stack import free_port
from shared.config import ROOT
from testing.broker import PrivateBroker, local_amqp_uri


@pytest.fixture
def private_clone():
    """A directory like a clone in /root: mode 0700, owned by us."""
    clone = Path(tempfile.mkdtemp(prefix="secto-clone-"))
    clone.chmod(0o700)
    yield clone
    for link in (clone / "var" / "rabbitmq", clone / "var" / "postgres"):
        if link.is_symlink():
            shutil.rmtree(link.resolve(), ignore_errors=True)
    shutil.rmtree(clone, ignore_errors=True)


def unused_amqp_port():
    return next(port for port in range(5673, 5700)  # a private broker's distribution port is AMQP + 20000
                if not answers("127.0.0.1", port) and not answers("127.0.0.1", port + 20000))


def test_the_broker_starts_and_keeps_messages_from_a_0700_clone(private_clone):
    broker = PrivateBroker(var_dir=private_clone / "var")
    broker.start()
    try:
        connection = pika.BlockingConnection(pika.URLParameters(broker.uri))
        channel = connection.channel()
        channel.queue_declare("kept", durable=True)
        channel.confirm_delivery()
        channel.basic_publish("", "kept", b"persistent", pika.BasicProperties(delivery_mode=2))
        assert channel.basic_get("kept", auto_ack=True)[2] == b"persistent"
        connection.close()
    finally:
        broker.stop()
    link = private_clone / "var" / "rabbitmq"
    if os.geteuid() == 0:  # the broker runs as the rabbitmq user, which cannot enter the clone
        assert not reachable_by("rabbitmq", link) and link.is_symlink()
        assert reachable_by("rabbitmq", link.resolve()) and (link / "mnesia").is_dir()
    assert not answers("127.0.0.1", int(broker.uri.rsplit(":", 1)[1].strip("/")))


def test_make_test_says_why_the_broker_did_not_start(private_clone):
    """A broker that cannot start (here: its management port is taken) is reported with the
    reason and the last lines of its output and log, not as a CalledProcessError."""
    port = unused_amqp_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {**os.environ, "AMQP_URI": local_amqp_uri(port),
               "RABBIT_MGMT_PORT": str(taken.getsockname()[1]), "SECTO_VAR_DIR": str(private_clone / "var"),
               "RABBITMQ_NODENAME": f"secto-test-{port}@localhost"}
        done = subprocess.run([sys.executable, "-m", "deploy.local.test", "--version"], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "broker could not start: it exited with status" in done.stderr, done.stderr[-3000:]
    assert "--- last lines of" in done.stderr and "server.out:" in done.stderr and "Management plugin" in done.stderr
    assert "Traceback" not in done.stderr and "CalledProcessError" not in done.stderr


@pytest.mark.skipif(not shutil.which("runuser") and os.geteuid() == 0, reason="needs runuser")
def test_make_test_postgres_stops_the_server_it_started(private_clone):
    if not list(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")):
        pytest.skip("PostgreSQL is not installed (make test-postgres installs it)")
    port = free_port()
    env = {**os.environ, "SECTO_VAR_DIR": str(private_clone / "var"),
           "SECTO_PG_URI": f"postgresql://postgres@127.0.0.1:{port}/postgres"}
    probe = private_clone / f"probe_{uuid.uuid4().hex[:6]}.py"
    probe.write_text("import os, socket\nhost, port = '127.0.0.1', int(os.environ['SECTO_PG_URI'].rsplit(':', 1)[1]"
                     ".split('/')[0])\nsocket.create_connection((host, port), timeout=5).close()\n"
                     "def test_server_answers():\n    pass\n")
    done = subprocess.run([sys.executable, "-m", "deploy.local.test", "--postgres", str(probe), "-q", "-p",
                           "no:cacheprovider"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
    assert not answers("127.0.0.1", port)  # stopped again
