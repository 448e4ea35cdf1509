"""`make test`: a broker (reused or started on loopback), then the whole pytest suite.
`--bench` runs bench/ instead. `--postgres` runs the given tests with every service on
PostgreSQL (SECTO_PG_URI, reused or installed and started on loopback under var/). Stops
a broker or PostgreSQL server it started itself."""
import os
import subprocess
import sys

from shared.config import ROOT

BROKER = [sys.executable, str(ROOT / "deploy" / "local" / "broker.py")]
POSTGRES = [sys.executable, str(ROOT / "deploy" / "local" / "postgres.py")]
DEFAULT_PG_URI = "postgresql://postgres@127.0.0.1:5433/postgres"


def ensure(server, env=None) -> bool:
    """True when this run started the server (so it stops it). Its last line of output says."""
    output = subprocess.run(server + ["ensure"], env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    return output.split()[-1] == "started"


def main(argv):
    bench, postgres = "--bench" in argv, "--postgres" in argv
    argv = [arg for arg in argv if arg not in ("--bench", "--postgres")]
    started = [BROKER] if ensure(BROKER) else []
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    amqp = env.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    try:
        if postgres:
            env["SECTO_TEST_POSTGRES_URI"] = env.setdefault("SECTO_PG_URI", DEFAULT_PG_URI)
            if ensure(POSTGRES, env):
                started.append(POSTGRES)
        if bench:
            command = [sys.executable, "-m", "bench"] + argv
        else:
            command = [sys.executable, "-m", "pytest", "--amqp-uri", amqp,
                       "--rabbit-api-uri", env.get("RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672"),
                       "--suppress-nameko-eventlet-notification"] + argv
        return subprocess.run(command, cwd=ROOT, env=env).returncode
    finally:
        for server in reversed(started):
            subprocess.run(server + ["stop"], env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
