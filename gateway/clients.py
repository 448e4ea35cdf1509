"""Who is calling: the client's address, also behind the web app.

The web app calls the API for each person with their own token and sends the person's
address in X-Forwarded-For. Only proxies listed in GATEWAY_TRUSTED_PROXIES may say so;
from anyone else the header is ignored, so nobody can choose their own rate-limit bucket.
"""
from shared import config


def trusted_proxies() -> frozenset:
    return frozenset(filter(None, (config.env("GATEWAY_TRUSTED_PROXIES", "") or "").replace(" ", "").split(",")))


def client_address(request) -> str:
    peer = request.remote_addr or "unknown"
    forwarded = request.headers.get("X-Forwarded-For", "")
    if not forwarded or peer not in trusted_proxies():
        return peer
    # the right-most address not added by a trusted proxy is the one the last proxy saw
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in trusted_proxies():
            return hop[:64]
    return peer
