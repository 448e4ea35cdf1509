"""Request rate limits of one gateway process: a token bucket per client IP, per account
(the verified token's subject) and, for login attempts, per client IP again (a password
guesser spreading its guesses over many usernames). With N gateway processes the
effective limit is N times the configured one."""
import math
import time
from collections import OrderedDict

from shared import config
from shared.errors import TooManyRequests, Unauthorized

from gateway.auth import verified_claims
from gateway.clients import client_address

MAX_TRACKED = 100_000  # buckets kept; the least recently used go first
LOGIN_PATH = "/auth/token"


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
                       (("ip", config.rate_limit("IP")), ("account", config.rate_limit("ACCOUNT")),
                        ("login", config.rate_limit("LOGIN_IP"))) if rate > 0}

    def check(self, request) -> None:
        now = time.monotonic()
        ip = client_address(request)
        keys = {"ip": ip, "account": _account_of(request),
                "login": ip if request.method == "POST" and request.path.endswith(LOGIN_PATH) else None}
        for kind, bucket in self.limits.items():
            if keys[kind] is None:
                continue
            wait = bucket.take(keys[kind], now)
            if wait:
                raise TooManyRequests(f"Too many requests per {kind}; retry later",
                                      {"limit": kind, "retry_after": max(1, math.ceil(wait))})


def _account_of(request) -> str | None:
    try:
        return verified_claims(request)["sub"]
    except Unauthorized:
        return None
