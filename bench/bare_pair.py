"""The baseline of the gateway benches: a bare nameko pair, one `@http` entrypoint calling one
`@rpc` that returns a dict, each service in its own `nameko run` process, on the same broker
and with the same nameko config (config.yaml) as the stack. bench.gateway_latency and
bench.gateway_load measure the gateway against it in the same run; main() only prints its
own latency (it has no target of its own)."""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

import requests
from nameko.rpc import ServiceRpc, rpc
from nameko.web.handlers import http

from shared.config import ROOT
from testing.broker import Vhosts

PATH = "/bare"
ROUNDS = int(os.environ.get("BENCH_LATENCY_ROUNDS", "300"))


class BareRpc:
    name = "bare_rpc"

    @rpc
    def get(self, item_id):
        return {"id": item_id, "name": "bare", "status": "ok"}


class BareHttp:
    name = "bare_http"
    backend = ServiceRpc("bare_rpc")

    @http("GET", f"{PATH}/<string:item_id>")
    def get(self, request, item_id):
        return 200, {"Content-Type": "application/json"}, json.dumps(self.backend.get(item_id))


class BarePair:
    """Both processes on their own vhost of the shared broker and a free port."""

    def __init__(self):
        from deploy.local.stack import free_port, wait_for_port

        self.vhosts = Vhosts()
        self.vhost = self.vhosts.create("secto-bench-bare")
        self.port = free_port()
        env = {**os.environ, "AMQP_URI": self.vhosts.uri(self.vhost), "GATEWAY_PORT": str(self.port),
               "PYTHONWARNINGS": "ignore"}
        self.log = tempfile.TemporaryFile()
        self.processes = [subprocess.Popen([sys.executable, "-m", "nameko", "run", "--config",
                                            str(ROOT / "config.yaml"), f"bench.bare_pair:{name}"],
                                           env=env, cwd=ROOT, stdout=self.log, stderr=self.log,
                                           start_new_session=True)
                          for name in ("BareRpc", "BareHttp")]
        self.url = f"http://127.0.0.1:{self.port}{PATH}/item-1"
        try:
            wait_for_port("127.0.0.1", self.port, 120, self.processes)
            deadline = time.time() + 120
            # no request before both consume (nameko kills a container whose reply consumer
            # first connects with a reply pending: shared.messaging.ReplyListener)
            while not (self._consuming() and self._answers()):
                if any(process.poll() is not None for process in self.processes):
                    deadline = 0
                if time.time() > deadline:
                    self.log.seek(0)
                    raise TimeoutError(f"the bare pair did not answer: {self.log.read()[-2000:].decode(errors='replace')}")
                time.sleep(0.2)
        except Exception:
            self.stop()
            raise

    def _consuming(self) -> bool:
        answer = requests.get(f"{self.vhosts.base}/queues/{urllib.parse.quote(self.vhost, safe='')}",
                              auth=self.vhosts.auth, timeout=10)
        consumed = {queue["name"] for queue in answer.json() if queue.get("consumers")} if answer.ok else set()
        return "rpc-bare_rpc" in consumed and any(name.startswith("rpc.reply-bare_http") for name in consumed)

    def _answers(self) -> bool:
        try:
            return requests.get(self.url, timeout=5).status_code == 200
        except requests.RequestException:
            return False

    @property
    def pids(self):
        return [process.pid for process in self.processes]

    def stop(self):
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.vhosts.delete(self.vhost)


def timed(session, url, **kwargs) -> float:
    started = time.perf_counter()
    response = session.get(url, timeout=15, **kwargs)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text[:200]
    return elapsed


def percentile(values, fraction) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def describe(times) -> str:
    return (f"p50 {statistics.median(times) * 1000:6.2f} ms  p99 {percentile(times, 0.99) * 1000:6.2f} ms  "
            f"({len(times)} requests)")


def main():
    pair = BarePair()
    try:
        session = requests.Session()
        for _ in range(20):
            timed(session, pair.url)
        times = [timed(session, pair.url) for _ in range(ROUNDS)]
        print(f"bare nameko pair (@http -> @rpc returning a dict, own processes): {describe(times)}", flush=True)
        return []
    finally:
        pair.stop()
