"""`make test`: a broker (reused or started on loopback), then the whole pytest suite.
`--bench` runs bench/ instead. Stops a broker it started itself."""
import os
import subprocess
import sys

from shared.config import ROOT

BROKER = [sys.executable, str(ROOT / "deploy" / "local" / "broker.py")]


def main(argv):
    bench = "--bench" in argv
    argv = [arg for arg in argv if arg != "--bench"]
    broker = subprocess.run(BROKER + ["ensure"], check=True, capture_output=True, text=True).stdout.strip()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if broker == "started":  # tests/test_zz_no_plaintext.py then scans this broker's data directory
        env["SECTO_TEST_BROKER_STARTED"] = "1"
    amqp = env.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    try:
        if bench:
            command = [sys.executable, "-m", "bench"] + argv
        else:
            command = [sys.executable, "-m", "pytest", "--amqp-uri", amqp,
                       "--rabbit-api-uri", env.get("RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672"),
                       "--suppress-nameko-eventlet-notification"] + argv
        return subprocess.run(command, cwd=ROOT, env=env).returncode
    finally:
        if broker == "started":
            subprocess.run(BROKER + ["stop"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
