"""Partner publisher: send fueling events (JSON lines) to the exchange `partner.fueling`.

    python -m services.driver.partner.publish --uri amqp://neste:SECRET@broker:5672/ --partner neste events.jsonl
    cat events.jsonl | python -m services.driver.partner.publish --uri ... --partner neste

Every message is persistent and confirmed by the broker before the next batch is sent;
the routing key is `fueling.<partner>`. Exit status 0 only if every line was confirmed.
"""
import argparse
import json
import sys

import pika

from shared.messaging import PARTNER_FUELING_EXCHANGE


class Publisher:
    """Persistent, confirmed publishes to partner.fueling over one connection."""

    def __init__(self, uri: str, partner: str):
        self.routing_key = f"fueling.{partner}"
        self.connection = pika.BlockingConnection(pika.URLParameters(uri))
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()
        self.properties = pika.BasicProperties(content_type="application/json", delivery_mode=2)

    def publish(self, body) -> None:
        """Raises if the broker does not confirm (nack, unroutable, or connection lost)."""
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        self.channel.basic_publish(PARTNER_FUELING_EXCHANGE, self.routing_key, body, self.properties,
                                   mandatory=True)

    def close(self):
        if self.connection.is_open:
            self.connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.driver.partner.publish", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uri", required=True, help="amqp://<partner user>:<password>@<host>:5672/<vhost>")
    parser.add_argument("--partner", required=True, help="partner name; routing key fueling.<partner>")
    parser.add_argument("file", nargs="?", type=argparse.FileType("rb"), default=sys.stdin.buffer,
                        help="JSON lines (default: stdin)")
    args = parser.parse_args(argv)
    sent = 0
    with Publisher(args.uri, args.partner) as publisher:
        for number, line in enumerate(args.file, 1):
            line = line.strip()
            if not line:
                continue
            try:
                publisher.publish(line)
            except pika.exceptions.AMQPError as exc:
                print(f"line {number}: not confirmed ({type(exc).__name__}: {exc}); {sent} sent", file=sys.stderr)
                return 1
            sent += 1
    print(f"{sent} events published and confirmed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
