"""Request rate limits of one gateway process: a token bucket per client IP and per
account (the verified token's subject). With N gateway processes the effective limit is
N times the configured one."""
import math
import time
from collections import OrderedDict

from shared import config, tokens
from shared.errors import TooManyRequests, Unauthorized

from gateway.auth import bearer_token
from gateway.clients import client_address

MAX_TRACKED = 100_000  # buckets kept; the least recently used go first


class TokenBucket:
    def __init__(self, rate: float, burst: int):
        self.rate, self.burst = rate, burst
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, now: float) -> float:
        """Spend one token for `key`; 0 when allowed, else seconds until one is available."""
        tokens_left, updated = self.buckets.pop(key, (self.burst, now))
        tokens_left = min(self.burst, tokens_left + (now - updated) * self.rate)
        wait = 0.0 if tokens_left >= 1 else (1 - tokens_left) / self.rate
        self.buckets[key] = (tokens_left - 1 if wait == 0 else tokens_left, now)
        if len(self.buckets) > MAX_TRACKED:
            self.buckets.popitem(last=False)
        return wait


class RateLimits:
    def __init__(self):
        self.limits = {kind: TokenBucket(rate, burst) for kind, (rate, burst) in
                       (("ip", config.rate_limit("IP")), ("account", config.rate_limit("ACCOUNT"))) if rate > 0}

    def check(self, request) -> None:
        now = time.monotonic()
        keys = {"ip": client_address(request), "account": _account_of(request)}
        for kind, bucket in self.limits.items():
            if keys[kind] is None:
                continue
            wait = bucket.take(keys[kind], now)
            if wait:
                raise TooManyRequests(f"Too many requests per {kind}; retry later",
                                      {"limit": kind, "retry_after": max(1, math.ceil(wait))})


def _account_of(request) -> str | None:
    token = bearer_token(request)
    if token is None:
        return None
    try:
        return tokens.verify(token)["sub"]
    except Unauthorized:
        return None
