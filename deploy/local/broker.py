"""Ensure a RabbitMQ broker answers at AMQP_URI; start a loopback one under var/ if not.

Stdlib only: it runs before the virtualenv exists.

    python3 deploy/local/broker.py ensure   # reuse or install+start; prints "reused" or "started"
    python3 deploy/local/broker.py stop     # stop the broker this repo started (by its pid)
"""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from machine import address, answers, apt_install, as_user, ensure as ensure_server

ROOT = Path(__file__).resolve().parents[2]
VAR = Path(os.environ.get("SECTO_VAR_DIR", ROOT / "var"))
BASE = VAR / "rabbitmq"
PID_FILE = BASE / "rabbitmq.pid"
SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
PLUGINS = "/usr/lib/rabbitmq/bin/rabbitmq-plugins"
START_TIMEOUT = 90


def amqp_address():
    return address(os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"), 5672)


def nodename():
    """A second broker (e.g. a test's private one) needs its own node name; its
    distribution port follows the AMQP port (+20000)."""
    return os.environ.get("RABBITMQ_NODENAME", "rabbit@localhost")


def broker_env():
    host, port = amqp_address()
    env = dict(os.environ)
    env.update(
        HOME="/var/lib/rabbitmq",
        RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
        RABBITMQ_NODE_PORT=str(port),
        ERL_EPMD_ADDRESS="127.0.0.1",
        RABBITMQ_NODENAME=nodename(),
        RABBITMQ_MNESIA_BASE=str(BASE / "mnesia"),
        RABBITMQ_LOG_BASE=str(BASE / "log"),
        RABBITMQ_PID_FILE=str(PID_FILE),
        RABBITMQ_CONFIG_FILE=str(BASE / "rabbitmq"),  # .conf appended by rabbitmq
        RABBITMQ_ENABLED_PLUGINS_FILE=str(BASE / "enabled_plugins"),
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
    (BASE / "mnesia").mkdir(parents=True, exist_ok=True)
    (BASE / "log").mkdir(parents=True, exist_ok=True)
    (BASE / "rabbitmq.conf").write_text(
        "listeners.tcp.default = 127.0.0.1:%d\n"
        "management.tcp.ip = 127.0.0.1\n"
        "management.tcp.port = %s\n"
        "loopback_users.guest = true\n" % (amqp_address()[1], os.environ.get("RABBIT_MGMT_PORT", "15672"))
    )
    (BASE / "enabled_plugins").write_text("[rabbitmq_management].\n")
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", str(BASE)], check=True)


def start():
    install()
    prepare_dirs()
    log = open(BASE / "server.out", "ab")
    subprocess.Popen(as_rabbitmq([SERVER]), env=broker_env(), stdout=log, stderr=log,
                     start_new_session=True)
    host, port = amqp_address()
    deadline = time.time() + START_TIMEOUT
    while time.time() < deadline:
        if answers(host, port):
            mgmt_port = int(os.environ.get("RABBIT_MGMT_PORT", "15672"))
            while time.time() < deadline and not answers("127.0.0.1", mgmt_port):
                time.sleep(0.3)
            return
        time.sleep(0.3)
    sys.exit("broker did not answer on %s:%s within %ss; see %s" % (host, port, START_TIMEOUT, BASE / "log"))


def ensure():
    ensure_server("broker", *amqp_address(), start)


def stop():
    if not PID_FILE.exists():
        return
    pid = int(PID_FILE.read_text().strip() or 0)
    subprocess.run(as_rabbitmq([CTL, "-n", nodename(), "stop", str(PID_FILE)]),
                   env=broker_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    try:
        os.kill(pid, 0)
        os.kill(pid, 15)
    except (ProcessLookupError, PermissionError):
        pass
    PID_FILE.unlink(missing_ok=True)


if __name__ == "__main__":
    {"ensure": ensure, "stop": stop}[sys.argv[1]]()
