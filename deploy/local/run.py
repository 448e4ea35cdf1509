"""`make run`: broker (reused or started), secrets, migrations, then every service and the
gateway in the foreground, supervised (a process that dies is restarted alone, with
backoff); Ctrl-C (or `make stop`) stops all it started."""
import argparse
import os
import signal
import sys
import time

from shared import config
from shared.messaging import declare_topology

from deploy.local.machine import ensure_with, server_command
from deploy.local.stack import Stack, dev_secrets, parse_scale, wait_for_port

BROKER = "deploy.local.broker"


def pid_file():
    return config.var_dir() / "run.pids"


def run(scale_text):
    began = time.time()
    scale = parse_scale(scale_text)
    broker = ensure_with(BROKER)
    env = dev_secrets(config.var_dir())
    os.environ.update(env)
    stack = Stack(env, scale)
    stack.migrate()
    declare_topology(config.amqp_uri())
    stack.start()
    stack.supervise()
    pid_file().write_text(f"{os.getpid()}\n")
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        port = int(config.env("GATEWAY_PORT", "8000"))
        web_port = int(config.env("WEB_PORT", "8080"))
        wait_for_port("127.0.0.1", port, 60)
        wait_for_port("127.0.0.1", web_port, 60)
        print(f"secto: up in {time.time() - began:.1f}s — web http://127.0.0.1:{web_port}/ — "
              f"API http://127.0.0.1:{port}/api/v1 (docs /api/v1/docs); broker {broker}; "
              f"{len(stack.pids)} processes; Ctrl-C stops", file=sys.stderr, flush=True)
        metrics = ", ".join(f"{name} {':'.join(map(str, ports))}" for name, ports in stack.metrics_ports.items())
        print(f"secto: metrics on 127.0.0.1 ports: {metrics}; gateway /api/v1/metrics", file=sys.stderr, flush=True)
        while not stopping:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
        if broker == "started":
            server_command(BROKER, "stop")
        pid_file().unlink(missing_ok=True)


def stop():
    if not pid_file().exists():
        print("secto: no recorded run", file=sys.stderr)
        return
    for pid in map(int, pid_file().read_text().split()):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.time() + 30
    while pid_file().exists() and time.time() < deadline:
        time.sleep(0.3)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="")
    parser.add_argument("--stop", action="store_true")
    args = parser.parse_args()
    stop() if args.stop else run(args.scale)
