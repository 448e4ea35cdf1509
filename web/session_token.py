"""The user's API token lives in the session cookie encrypted (Fernet, key derived from
WEB_SECRET_KEY), so the browser holds no readable JWT and nothing server-side is shared
between web processes."""
import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app, session


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"secto-web-session:" + current_app.config["SECRET_KEY"].encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def store(token: str, **facts):
    session.clear()
    session.update(facts, token=_fernet().encrypt(token.encode()).decode())


def load() -> str | None:
    sealed = session.get("token")
    if not sealed:
        return None
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        session.clear()
        return None
