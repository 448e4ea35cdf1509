"""`make retention-dry-run`: what each running service's retention timer would remove today,
per data category, without removing anything (each service plans with its own configuration)."""
import argparse
import sys

from nameko.standalone.rpc import ClusterRpcClient

from shared import config

TIMEOUT = 120


def plan(client, service) -> list[tuple[str, str, object]]:
    """(category, period, count or '-' when the rule is not the timer's) of one service."""
    schedule = client[service].retention_schedule()
    counts = client[service].run_retention(dry_run=True)["would_remove"]
    return [(rule["category"], rule["period"], counts.get(rule["category"], "-")) for rule in schedule]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.retention_dry_run", description=__doc__)
    parser.add_argument("services", nargs="*", default=list(config.SERVICES))
    args = parser.parse_args(argv)
    failed = []
    print(f"{'service':<10} {'category':<26} {'period':<15} {'would remove':>12}")
    with ClusterRpcClient(uri=config.amqp_uri(), timeout=TIMEOUT) as client:
        for service in args.services:
            try:
                rows = plan(client, service)
            except Exception as error:  # one service not answering still leaves the others' plan
                print(f"{service:<10} did not answer ({type(error).__name__})")
                failed.append(service)
                continue
            for category, period, count in rows:
                print(f"{service:<10} {category:<26} {period:<15} {count:>12}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
