"""`make test`: a broker (reused or started on loopback), then the whole pytest suite.
`--bench` runs bench/ instead; `--postgres` (`make test-postgres`) also a PostgreSQL server
(reused or started) that every service of the test stacks uses. Stops what it started itself."""
import os
import subprocess
import sys

from deploy.local.machine import ensure_with
from shared.config import ROOT

BROKER = ROOT / "deploy" / "local" / "broker.py"
POSTGRES = ROOT / "deploy" / "local" / "postgres.py"
DEFAULT_PG_URI = "postgresql://postgres@127.0.0.1:5433/postgres"


def main(argv):
    bench, postgres = "--bench" in argv, "--postgres" in argv
    argv = [arg for arg in argv if arg not in ("--bench", "--postgres")]
    broker = ensure_with(BROKER)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    amqp = env.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    database = None
    try:
        if postgres:
            env.setdefault("SECTO_PG_URI", DEFAULT_PG_URI)
            env["SECTO_TEST_POSTGRES_URI"] = env["SECTO_PG_URI"]
            database = ensure_with(POSTGRES, env)
        if bench:
            command = [sys.executable, "-m", "bench"] + argv
        else:
            command = [sys.executable, "-m", "pytest", "--amqp-uri", amqp,
                       "--rabbit-api-uri", env.get("RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672"),
                       "--suppress-nameko-eventlet-notification"] + argv
        return subprocess.run(command, cwd=ROOT, env=env).returncode
    finally:
        if database == "started":
            subprocess.run([sys.executable, str(POSTGRES), "stop"], env=env)
        if broker == "started":
            subprocess.run([sys.executable, str(BROKER), "stop"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
