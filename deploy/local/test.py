"""`make test`: a broker (reused or started on loopback), then the whole pytest suite.
`--bench` runs bench/ instead. `--postgres` runs the given tests with every service on
PostgreSQL (SECTO_PG_URI, reused or installed and started on loopback under var/). Stops
a broker or PostgreSQL server it started itself."""
import os
import subprocess
import sys

from deploy.local.machine import ensure_with, server_command
from shared.config import ROOT, amqp_uri, rabbit_api_uri

BROKER = "deploy.local.broker"
POSTGRES = "deploy.local.postgres"
DEFAULT_PG_URI = "postgresql://postgres@127.0.0.1:5433/postgres"
CHROMIUM = "/usr/bin/chromium"  # Debian's; the browser tests drive it with Playwright
BROWSER_TESTS = "tests/web"


def main(argv):
    bench, postgres = "--bench" in argv, "--postgres" in argv
    argv = [arg for arg in argv if arg not in ("--bench", "--postgres")]
    if not bench and not os.path.exists(CHROMIUM):
        from deploy.local.machine import apt_install
        apt_install("chromium")
    broker = ensure_with(BROKER)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if broker == "started":  # tests/test_zz_no_plaintext.py then scans this broker's data directory
        env["SECTO_TEST_BROKER_STARTED"] = "1"
    database = None
    pytest = [sys.executable, "-m", "pytest", "--amqp-uri", amqp_uri(), "--rabbit-api-uri", rabbit_api_uri(),
              "--suppress-nameko-eventlet-notification"]
    try:
        if postgres:
            env.setdefault("SECTO_PG_URI", DEFAULT_PG_URI)
            env["SECTO_TEST_POSTGRES_URI"] = env["SECTO_PG_URI"]
            database = ensure_with(POSTGRES, env)
        if bench:
            return subprocess.run([sys.executable, "-m", "bench"] + argv, cwd=ROOT, env=env).returncode
        return max(subprocess.run(pytest + args, cwd=ROOT, env={**env, **session_env}).returncode
                   for args, session_env in sessions(argv))
    finally:
        if database == "started":
            server_command(POSTGRES, "stop", env)
        if broker == "started":
            server_command(BROKER, "stop")


def sessions(argv):
    """The browser tests run in a pytest session of their own, without eventlet's monkey
    patching (Playwright's asyncio loop deadlocks under it); the rest as one session."""
    no_eventlet = {"SECTO_EVENTLET": "0"}
    if any(arg.startswith(BROWSER_TESTS) for arg in argv):
        return [(argv, no_eventlet)]
    if any(os.path.exists(ROOT / arg.split("::")[0]) for arg in argv if not arg.startswith("-")):
        return [(argv, {})]
    return [(argv + ["--ignore", BROWSER_TESTS], {}), (argv + [BROWSER_TESTS], no_eventlet)]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
