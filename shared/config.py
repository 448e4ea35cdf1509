"""Settings from the environment (SPEC §0). Read at call time so tests can override."""
import hashlib
import hmac
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the broker's one default home: everything else (make, deploy/local, the test kit, nameko's
# config.yaml through the environment deploy/local/stack.py gives its processes) takes it from here
DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_RABBIT_API_URI = "http://guest:guest@127.0.0.1:15672"  # its management API
SERVICES = ("identity", "fleet", "driver", "billing", "kyc", "marketing")


class ConfigError(RuntimeError):
    pass


def env(name, default=None):
    value = os.environ.get(name)
    return default if value in (None, "") else value


def var_dir() -> Path:
    path = Path(env("SECTO_VAR_DIR", ROOT / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def amqp_uri() -> str:
    return env("AMQP_URI", DEFAULT_AMQP_URI)


def rabbit_api_uri() -> str:
    return env("RABBIT_API_URI", DEFAULT_RABBIT_API_URI)


def database_url(service: str) -> str:
    url = env(f"{service.upper()}_DATABASE_URL") or f"sqlite:///{var_dir() / (service + '.db')}"
    # psycopg2 is the driver that cooperates with eventlet; SQLAlchemy 2.1 would pick psycopg 3
    return "postgresql+psycopg2://" + url.split("://", 1)[1] if url.startswith(("postgresql://", "postgres://")) \
        else url


def required(name: str) -> str:
    value = env(name)
    if not value:
        raise ConfigError(f"{name} is not set (make run generates dev values into var/secrets.env)")
    return value


def secret_key() -> str:
    return required("SECTO_SECRET_KEY")


def data_keys() -> list[str]:
    """Field-encryption keys, newest first: the first encrypts, all decrypt."""
    return [key.strip() for key in required("SECTO_DATA_KEYS").split(",") if key.strip()]


def index_key(service: str | None = None) -> bytes:
    """Key of the blind index (keyed hash for exact lookups); separate from the data keys.
    Identity uses SECTO_INDEX_KEY; another service (KYC) its own key, SECTO_INDEX_KEY_<SERVICE>
    or else one derived from SECTO_INDEX_KEY, so its indexes cannot be matched with identity's."""
    master = required("SECTO_INDEX_KEY").encode()
    if service is None:
        return master
    own = env(f"SECTO_INDEX_KEY_{service.upper()}")
    return own.encode() if own else hmac.new(master, f"secto-blind-index:{service}".encode(), hashlib.sha256).digest()


def rpc_timeout() -> float:
    return float(env("SECTO_RPC_TIMEOUT", "5"))


def rate_limit(kind: str) -> tuple[float, int]:
    """(requests per second, burst) per client IP, per account, or of `POST /auth/token` per
    client IP (LOGIN_IP) at the gateway; rate 0 = off."""
    defaults = {"IP": ("20", "100"), "ACCOUNT": ("10", "50"), "LOGIN_IP": ("0.5", "20")}[kind]
    return (float(env(f"GATEWAY_RATE_PER_{kind}", defaults[0])),
            int(env(f"GATEWAY_BURST_PER_{kind}", defaults[1])))


def token_ttl_seconds() -> int:
    return int(env("SECTO_TOKEN_TTL", "900"))
