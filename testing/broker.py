"""RabbitMQ for tests: a vhost per run or test on the shared broker (management API), a
private broker of a test's own, and durable queues that keep a service's events."""
import os
import subprocess
import sys
import tempfile
import urllib.parse
import uuid
from pathlib import Path

import requests

from deploy.local.machine import answers
from deploy.local.stack import free_port
from shared.config import DEFAULT_AMQP_URI, ROOT, amqp_uri, rabbit_api_uri

# every directory a stack or private broker of this session wrote (databases, logs, the
# broker's message store): tests/test_zz_no_plaintext.py scans them all at the session's end
SESSION_VAR_DIRS: list[Path] = []


def local_amqp_uri(port: int) -> str:
    """The default broker's URI with another port (a private broker on loopback)."""
    parts = urllib.parse.urlparse(DEFAULT_AMQP_URI)
    return parts._replace(netloc=f"{parts.username}:{parts.password}@{parts.hostname}:{port}").geturl()


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


class PrivateBroker:
    """A RabbitMQ node of its own (ports, node name, data dir) for tests that restart the
    broker without disturbing anything else."""

    def __init__(self, var_dir=None):
        if var_dir is None:
            var_dir = Path(tempfile.mkdtemp(prefix="secto-broker-"))
            var_dir.chmod(0o755)  # the rabbitmq user may enter (else the broker keeps the data elsewhere)
        self.var_dir = Path(var_dir)
        SESSION_VAR_DIRS.append(self.var_dir)
        port = next(p for p in range(5673, 5700)  # its distribution port is AMQP + 20000
                    if not answers("127.0.0.1", p) and not answers("127.0.0.1", p + 20000))
        self.uri = local_amqp_uri(port)
        self.env = {**os.environ, "AMQP_URI": self.uri, "RABBIT_MGMT_PORT": str(free_port()),
                    "SECTO_VAR_DIR": str(var_dir), "RABBITMQ_NODENAME": f"secto-test-{port}@localhost"}

    def _broker(self, command):
        done = subprocess.run([sys.executable, "-m", "deploy.local.broker", command], cwd=ROOT, env=self.env,
                              capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"deploy.local.broker {command} failed ({done.returncode}):\n{done.stderr}")

    def start(self):
        self._broker("ensure")

    def stop(self):
        self._broker("stop")


def declare_event_queue(uri, queue, source, event):
    """A durable queue of the caller's own on `source`'s `event`: it keeps every such event,
    also through a broker restart, to be counted or read later."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(uri))
    channel = connection.channel()
    channel.exchange_declare(f"{source}.events", exchange_type="topic", durable=True)
    channel.queue_declare(queue, durable=True)
    channel.queue_bind(queue, f"{source}.events", event)
    connection.close()
