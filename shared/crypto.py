"""Field encryption with key rotation (MultiFernet) and a keyed blind index (HMAC-SHA256)."""
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from shared import config


class FieldCipher:
    """The first key encrypts, every key decrypts; `rotate` re-encrypts with the first."""

    def __init__(self, keys: list[str]):
        if not keys:
            raise config.ConfigError("at least one data key is required")
        self._fernet = MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])

    @classmethod
    def from_env(cls):
        return cls(config.data_keys())

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise config.ConfigError("a stored value cannot be decrypted with SECTO_DATA_KEYS") from None

    def encrypt_bytes(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt_bytes(self, token: bytes) -> bytes:
        return self._fernet.decrypt(token)

    def rotate(self, token: str) -> str:
        return self._fernet.rotate(token.encode()).decode()

    def rotate_bytes(self, token: bytes) -> bytes:
        return self._fernet.rotate(token)


def blind_index(value: str, key: bytes | None = None) -> str:
    """Deterministic keyed hash for exact lookups of an encrypted value."""
    return hmac.new(key or config.index_key(), value.encode(), hashlib.sha256).hexdigest()


def new_key() -> str:
    return Fernet.generate_key().decode()
