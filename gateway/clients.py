"""Who is calling: the client's address, also behind the web app.

The web app calls the API for each person with their own token and sends the person's
address in X-Forwarded-For. Only proxies listed in GATEWAY_TRUSTED_PROXIES may say so;
from anyone else the header is ignored, so nobody can choose their own rate-limit bucket.
"""
import functools
import ipaddress

from shared import config


@functools.lru_cache(maxsize=8)
def _networks(setting: str) -> tuple:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in setting.split(",") if part.strip())


def is_trusted(address: str) -> bool:
    """GATEWAY_TRUSTED_PROXIES: comma-separated addresses or networks (e.g. 10.0.0.0/8)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(config.env("GATEWAY_TRUSTED_PROXIES", "") or ""))


def client_address(request) -> str:
    peer = request.remote_addr or "unknown"
    forwarded = request.headers.get("X-Forwarded-For", "")
    if not forwarded or not is_trusted(peer):
        return peer
    # the right-most address not added by a trusted proxy is the one the last proxy saw
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            return hop[:64]
    return peer
