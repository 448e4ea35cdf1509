"""Access tokens: HS256 JWTs signed with SECTO_SECRET_KEY; algorithm pinned, exp required."""
import datetime as dt

import jwt

from shared import config
from shared.errors import Unauthorized

ALGORITHM = "HS256"


def issue(account_id: str, role: str, token_version: int, ttl_seconds: int | None = None) -> tuple[str, int]:
    ttl = ttl_seconds or config.token_ttl_seconds()
    now = dt.datetime.now(dt.timezone.utc)
    claims = {"sub": account_id, "role": role, "ver": token_version, "iat": now,
              "exp": now + dt.timedelta(seconds=ttl)}
    return jwt.encode(claims, config.secret_key(), algorithm=ALGORITHM), ttl


def verify(token: str) -> dict:
    try:
        return jwt.decode(token, config.secret_key(), algorithms=[ALGORITHM],
                          options={"require": ["exp", "sub", "ver"]})
    except jwt.PyJWTError:
        raise Unauthorized("Invalid or expired token") from None
