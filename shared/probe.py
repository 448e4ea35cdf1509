"""Kubernetes exec probe: `python -m shared.probe <service>` exits 0 when the service's
health RPC answers ok within 2 s (its database reachable), 1 otherwise."""
import sys

from nameko.standalone.rpc import ClusterRpcClient

from shared import config

TIMEOUT = 2


def main(service: str) -> int:
    try:
        with ClusterRpcClient(uri=config.amqp_uri(), timeout=TIMEOUT) as client:
            return 0 if client[service].health()["status"] == "ok" else 1
    except Exception as exc:  # any failure is "not healthy"; the reason goes to the probe log
        print(f"{service}: {type(exc).__name__}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
