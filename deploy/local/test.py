"""`make test`: a broker (reused or started on loopback), then the whole pytest suite.
`--bench` runs bench/ instead. Stops a broker it started itself."""
import os
import subprocess
import sys

from shared.config import ROOT

CHROMIUM = "/usr/bin/chromium"  # Debian's; the browser tests drive it with Playwright
BROWSER_TESTS = "tests/web"

BROKER = [sys.executable, str(ROOT / "deploy" / "local" / "broker.py")]


def main(argv):
    bench = "--bench" in argv
    argv = [arg for arg in argv if arg != "--bench"]
    if not bench and not os.path.exists(CHROMIUM):
        from deploy.local.machine import apt_install
        apt_install("chromium")
    broker = subprocess.run(BROKER + ["ensure"], check=True, capture_output=True, text=True).stdout.strip()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    amqp = env.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    pytest = [sys.executable, "-m", "pytest", "--amqp-uri", amqp,
              "--rabbit-api-uri", env.get("RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672"),
              "--suppress-nameko-eventlet-notification"]
    try:
        if bench:
            return subprocess.run([sys.executable, "-m", "bench"] + argv, cwd=ROOT, env=env).returncode
        return max(subprocess.run(pytest + args, cwd=ROOT, env={**env, **session_env}).returncode
                   for args, session_env in sessions(argv))
    finally:
        if broker == "started":
            subprocess.run(BROKER + ["stop"])


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
