"""Ensure a RabbitMQ broker answers at AMQP_URI; start a loopback one under var/ if not.

Stdlib only (deploy.local.machine, shared.config): it runs before the virtualenv exists. The broker runs as the `rabbitmq` user
(when we are root); if that user cannot enter the clone (a 0700 home such as /root), its
data lives in /var/lib/rabbitmq/secto/<hash> and var/rabbitmq is a symlink to it. When the
broker cannot start, the reason and the last lines of its logs are printed.

    python3 -m deploy.local.broker ensure   # reuse or install+start; prints "reused" or "started"
    python3 -m deploy.local.broker stop     # stop the broker this repo started (by its pid)
"""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from deploy.local.machine import address, answers, apt_install, as_user, ensure as ensure_server, server_dir, tail
from shared.config import amqp_uri, rabbit_api_uri

ROOT = Path(__file__).resolve().parents[2]
VAR = Path(os.environ.get("SECTO_VAR_DIR", ROOT / "var"))
LINK = VAR / "rabbitmq"  # the broker's directory, or a symlink to it
SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
PLUGINS = "/usr/lib/rabbitmq/bin/rabbitmq-plugins"
START_TIMEOUT = 90
AMQP_PORT = 5672  # of a URI without a port (the protocol's)


def amqp_address():
    return address(amqp_uri(), AMQP_PORT)


def management_port() -> int:
    """RABBIT_MGMT_PORT (a private broker's), else the port of the management API's URI."""
    return int(os.environ.get("RABBIT_MGMT_PORT") or address(rabbit_api_uri(), 15672)[1])


def nodename():
    """A second broker (e.g. a test's private one) needs its own node name; its
    distribution port follows the AMQP port (+20000)."""
    return os.environ.get("RABBITMQ_NODENAME", "rabbit@localhost")


def base() -> Path:
    return LINK.resolve()


def pid_file() -> Path:
    return base() / "rabbitmq.pid"


def broker_env():
    host, port = amqp_address()
    data = base()
    env = dict(os.environ)
    env.update(
        HOME="/var/lib/rabbitmq",
        RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
        RABBITMQ_NODE_PORT=str(port),
        ERL_EPMD_ADDRESS="127.0.0.1",
        RABBITMQ_NODENAME=nodename(),
        RABBITMQ_MNESIA_BASE=str(data / "mnesia"),
        RABBITMQ_LOG_BASE=str(data / "log"),
        RABBITMQ_PID_FILE=str(data / "rabbitmq.pid"),
        RABBITMQ_CONFIG_FILE=str(data / "rabbitmq"),  # .conf appended by rabbitmq
        RABBITMQ_ENABLED_PLUGINS_FILE=str(data / "enabled_plugins"),
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
    )
    return env


def as_rabbitmq(cmd):
    return as_user("rabbitmq", cmd)


def install():
    if Path(SERVER).exists():
        return
    apt_install("rabbitmq-server")
    # the package may start a system broker on 0.0.0.0; we run our own on loopback
    if shutil.which("service"):
        subprocess.run(["service", "rabbitmq-server", "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def prepare_dirs():
    data = server_dir("rabbitmq", LINK)
    (data / "mnesia").mkdir(parents=True, exist_ok=True)
    (data / "log").mkdir(parents=True, exist_ok=True)
    (data / "rabbitmq.conf").write_text(
        "listeners.tcp.default = 127.0.0.1:%d\n"
        "management.tcp.ip = 127.0.0.1\n"
        "management.tcp.port = %s\n"
        "loopback_users.guest = true\n" % (amqp_address()[1], management_port())
    )
    (data / "enabled_plugins").write_text("[rabbitmq_management].\n")
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", str(data)], check=True)


def start():
    install()
    prepare_dirs()
    out = base() / "server.out"
    with open(out, "ab") as log:
        server = subprocess.Popen(as_rabbitmq([SERVER]), env=broker_env(), stdout=log, stderr=log,
                                  start_new_session=True)
    host, port = amqp_address()
    mgmt_port = management_port()
    deadline = time.time() + START_TIMEOUT
    while time.time() < deadline and server.poll() is None:
        if answers(host, port) and answers("127.0.0.1", mgmt_port):
            return
        time.sleep(0.3)
    if server.poll() is None:
        reason = f"it did not answer on {host}:{port} and management port {mgmt_port} within {START_TIMEOUT}s"
    else:
        reason = f"it exited with status {server.returncode}"
    fail(reason, out)


def fail(reason, out):
    """Exit with why the broker did not start and the last lines of what it wrote."""
    logs = sorted((base() / "log").glob("*.log"), key=lambda path: path.stat().st_mtime)
    parts = [f"broker could not start: {reason}", f"--- last lines of {out}:", tail(out)]
    if logs:
        parts += [f"--- last lines of {logs[-1]}:", tail(logs[-1])]
    sys.exit("\n".join(parts))


def ensure():
    ensure_server("broker", *amqp_address(), start)


def stop():
    pids = pid_file()
    if not pids.exists():
        return
    pid = int(pids.read_text().strip() or 0)
    subprocess.run(as_rabbitmq([CTL, "-n", nodename(), "stop", str(pids)]),
                   env=broker_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    try:
        os.kill(pid, 0)
        os.kill(pid, 15)
    except (ProcessLookupError, PermissionError):
        pass
    pids.unlink(missing_ok=True)


if __name__ == "__main__":
    {"ensure": ensure, "stop": stop}[sys.argv[1]]()
