"""`make retention-dry-run`: what each running service's retention timer would remove today,
per data category, without removing anything (each service plans with its own configuration)."""
import argparse
import sys

from nameko.standalone.rpc import ClusterRpcClient

from shared import config

TIMEOUT = 120


def plan(client, services) -> dict:
    """{service: {category: count} | None when it did not answer}."""
    pending = {service: client[service].run_retention.call_async(dry_run=True) for service in services}
    result = {}
    for service, call in pending.items():
        try:
            result[service] = call.result()["would_remove"]
        except Exception as error:  # a service that does not answer is reported, the others still are
            print(f"{service}: did not answer ({type(error).__name__})", file=sys.stderr)
            result[service] = None
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.retention_dry_run", description=__doc__)
    parser.add_argument("services", nargs="*", default=list(config.SERVICES))
    args = parser.parse_args(argv)
    with ClusterRpcClient(uri=config.amqp_uri(), timeout=TIMEOUT) as client:
        schedule = {service: client[service].retention_schedule() for service in args.services}
        planned = plan(client, args.services)
    print(f"{'service':<10} {'category':<26} {'period':<15} {'would remove':>12}")
    for service in args.services:
        for rule in schedule[service]:
            counts = planned[service]
            count = "-" if counts is None or rule["category"] not in counts else counts[rule["category"]]
            print(f"{service:<10} {rule['category']:<26} {rule['period']:<15} {count:>12}")
    return 1 if any(counts is None for counts in planned.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
