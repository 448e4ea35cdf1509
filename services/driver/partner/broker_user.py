"""Create (or update) a fuel partner's broker user that may only publish to `partner.fueling`,
and only with its own routing key `fueling.<partner>`: no configure, no read, no other exchange.

    python -m services.driver.partner.broker_user neste [--vhost /] [--password ...] [--api <management API URI>]

Uses the RabbitMQ management HTTP API (RABBIT_API_URI, default in shared/config.py).
Prints the partner's AMQP URI once (with a generated password unless --password is given).
"""
import argparse
import re
import secrets
import sys
import urllib.parse

import requests

from shared.config import amqp_uri, rabbit_api_uri
from shared.messaging import PARTNER_FUELING_EXCHANGE

PARTNER_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,30}$")


def create_partner_user(partner: str, password: str | None = None, vhost: str = "/", api_uri: str | None = None,
                        amqp: str | None = None) -> dict:
    """Returns {"username", "password", "uri"}; the username is `partner-<partner>`."""
    if not PARTNER_RE.match(partner):
        raise ValueError("partner: 2-31 characters a-z, 0-9, '-' or '_'")
    api = urllib.parse.urlparse(api_uri or rabbit_api_uri())
    base = f"{api.scheme}://{api.hostname}:{api.port}/api"
    auth = (urllib.parse.unquote(api.username or "guest"), urllib.parse.unquote(api.password or "guest"))
    username, password = f"partner-{partner}", password or secrets.token_urlsafe(24)
    quoted_vhost = urllib.parse.quote(vhost, safe="")
    exchange = re.escape(PARTNER_FUELING_EXCHANGE)
    calls = [
        (f"{base}/users/{username}", {"password": password, "tags": ""}),
        (f"{base}/permissions/{quoted_vhost}/{username}", {"configure": "^$", "write": f"^{exchange}$", "read": "^$"}),
        (f"{base}/topic-permissions/{quoted_vhost}/{username}",
         {"exchange": PARTNER_FUELING_EXCHANGE, "write": f"^fueling\\.{re.escape(partner)}$", "read": "^$"}),
    ]
    for url, body in calls:
        requests.put(url, json=body, auth=auth, timeout=10).raise_for_status()
    broker = urllib.parse.urlparse(amqp or amqp_uri())
    uri = (f"amqp://{username}:{urllib.parse.quote(password, safe='')}@{broker.hostname}:{broker.port or 5672}/"
           f"{quoted_vhost}")
    return {"username": username, "password": password, "uri": uri}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.driver.partner.broker_user", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("partner")
    parser.add_argument("--vhost", default="/")
    parser.add_argument("--password")
    parser.add_argument("--api", help="management API URI (default RABBIT_API_URI)")
    args = parser.parse_args(argv)
    try:
        user = create_partner_user(args.partner, args.password, args.vhost, args.api)
    except (ValueError, requests.RequestException) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"user {user['username']} may publish to {PARTNER_FUELING_EXCHANGE} with routing key "
          f"fueling.{args.partner} only", file=sys.stderr)
    print(user["uri"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
