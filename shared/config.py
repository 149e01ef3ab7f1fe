"""Configuration from environment variables, with defaults for one development machine.

Every process of the suite reads the same variables, so an operator configures a whole
deployment (or a docker-compose file) in one place:

    EHR_AMQP_URI          amqp://guest:guest@127.0.0.1:5672/   the suite's own (internal) broker account;
                          its vhost is the suite's. Never give it to a hospital or township
    EHR_BROKER_ADMIN_URL  http://guest:guest@127.0.0.1:15672   RabbitMQ's management HTTP API with an
                          administrator's credentials: `ehr broker grant|revoke|list` and `ehr up --demo`
    EHR_BROKER_ACCOUNT_PREFIX   inst-   partner accounts are named <prefix><institution code>
    EHR_MAX_ENCOUNTER_BYTES     262144 (256 KiB): a hospital message larger than this is quarantined
                          as too_large before it is parsed (the broker refuses any over 8 MiB)
    EHR_DATABASE_URL      postgresql://postgres@127.0.0.1:5432   (server, no database name)
    EHR_DB_PREFIX         ehr        -> databases ehr_registry, ehr_records, ...
    EHR_<SERVICE>_DATABASE_URL      full URL for one service, overrides the two above
    EHR_PII_KEY           base64 of 32 bytes: AES-256-GCM key for ID and phone numbers
    EHR_PII_OLD_KEYS      comma-separated older keys still accepted for decryption
    EHR_INDEX_KEY         base64 of 32 bytes: HMAC key of the blind indexes
    EHR_TOKEN_KEY         base64 of 32 bytes: HMAC-SHA256 key signing the gateway's bearer tokens
                          (the gateway refuses to start without it; rotating it signs everyone out)
    EHR_TOKEN_LIFETIME    seconds a sign-in token is valid (900)
    EHR_LOCKOUT_THRESHOLD consecutive failed sign-ins that lock an account until `ehr user unlock` (5)
    EHR_GRANT_LIFETIME    seconds an out-of-scope access grant (a stated reason) lasts (14400, 4 h)
    EHR_GATEWAY_HOST / EHR_GATEWAY_PORT    127.0.0.1 / 8000
    EHR_RPC_TIMEOUT       seconds an RPC call may take before it counts as failed (30)
    EHR_LOG_LEVEL         INFO
    EHR_STATE_DIR         ./var: where `ehr up` keeps the keys it generated for a development
                          machine (secrets.env, mode 0600) when EHR_PII_KEY is not set
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432"
DEFAULT_BROKER_ADMIN_URL = "http://guest:guest@127.0.0.1:15672"
DEFAULT_MAX_ENCOUNTER_BYTES = 256 * 1024


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable, never its value."""


def _decode_key(name: str, raw: str) -> bytes:
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise ConfigError(f"{name} is not valid base64") from exc
    if len(key) != 32:
        raise ConfigError(f"{name} must decode to 32 bytes, got {len(key)}")
    return key


@dataclass(frozen=True)
class Settings:
    amqp_uri: str = DEFAULT_AMQP_URI
    database_url: str = DEFAULT_DATABASE_URL
    db_prefix: str = "ehr"
    database_overrides: dict[str, str] = field(default_factory=dict)
    pii_key: bytes | None = None
    pii_old_keys: tuple[bytes, ...] = ()
    index_key: bytes | None = None
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    rpc_timeout: float = 30.0
    log_level: str = "INFO"
    token_key: bytes | None = None
    token_lifetime: int = 900
    lockout_threshold: int = 5
    grant_lifetime: int = 4 * 3600
    broker_admin_url: str = DEFAULT_BROKER_ADMIN_URL
    broker_account_prefix: str = "inst-"
    max_encounter_bytes: int = DEFAULT_MAX_ENCOUNTER_BYTES

    def database_name(self, service: str) -> str:
        return f"{self.db_prefix}_{service}"

    def database_url_for(self, service: str) -> str:
        """The SQLAlchemy URL of one service's own database."""
        override = self.database_overrides.get(service)
        if override:
            return override
        return f"{self.database_url.rstrip('/')}/{self.database_name(service)}"

    def require_keys(self) -> tuple[bytes, bytes]:
        """The PII encryption key and the blind-index key; a process handling identities needs both."""
        if self.pii_key is None or self.index_key is None:
            raise ConfigError(
                "EHR_PII_KEY and EHR_INDEX_KEY must be set (base64 of 32 random bytes each); "
                "`ehr keys` prints a fresh pair"
            )
        return self.pii_key, self.index_key

    def require_token_key(self) -> bytes:
        """The key signing bearer tokens; the gateway needs it, the other services do not."""
        if self.token_key is None:
            raise ConfigError("EHR_TOKEN_KEY must be set (base64 of 32 random bytes); `ehr keys` prints one")
        return self.token_key


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    overrides = {
        name[len("EHR_"):-len("_DATABASE_URL")].lower(): value
        for name, value in env.items()
        if name.startswith("EHR_") and name.endswith("_DATABASE_URL") and name != "EHR_DATABASE_URL"
    }
    pii_key = env.get("EHR_PII_KEY")
    index_key = env.get("EHR_INDEX_KEY")
    token_key = env.get("EHR_TOKEN_KEY")
    old_keys = [k for k in env.get("EHR_PII_OLD_KEYS", "").split(",") if k.strip()]
    try:
        port = int(env.get("EHR_GATEWAY_PORT", "8000"))
        rpc_timeout = float(env.get("EHR_RPC_TIMEOUT", "30"))
    except ValueError as exc:
        raise ConfigError("EHR_GATEWAY_PORT and EHR_RPC_TIMEOUT must be numbers") from exc
    limits = {}
    for name, default in (("EHR_TOKEN_LIFETIME", 900), ("EHR_LOCKOUT_THRESHOLD", 5),
                          ("EHR_GRANT_LIFETIME", 4 * 3600),
                          ("EHR_MAX_ENCOUNTER_BYTES", DEFAULT_MAX_ENCOUNTER_BYTES)):
        try:
            limits[name] = int(env.get(name, default))
        except ValueError as exc:
            raise ConfigError(f"{name} must be a whole number") from exc
        if limits[name] < 1:
            raise ConfigError(f"{name} must be at least 1")
    return Settings(
        amqp_uri=env.get("EHR_AMQP_URI", DEFAULT_AMQP_URI),
        database_url=env.get("EHR_DATABASE_URL", DEFAULT_DATABASE_URL),
        db_prefix=env.get("EHR_DB_PREFIX", "ehr"),
        database_overrides=overrides,
        pii_key=_decode_key("EHR_PII_KEY", pii_key) if pii_key else None,
        pii_old_keys=tuple(_decode_key("EHR_PII_OLD_KEYS", k.strip()) for k in old_keys),
        index_key=_decode_key("EHR_INDEX_KEY", index_key) if index_key else None,
        gateway_host=env.get("EHR_GATEWAY_HOST", "127.0.0.1"),
        gateway_port=port,
        rpc_timeout=rpc_timeout,
        log_level=env.get("EHR_LOG_LEVEL", "INFO"),
        token_key=_decode_key("EHR_TOKEN_KEY", token_key) if token_key else None,
        token_lifetime=limits["EHR_TOKEN_LIFETIME"],
        lockout_threshold=limits["EHR_LOCKOUT_THRESHOLD"],
        grant_lifetime=limits["EHR_GRANT_LIFETIME"],
        broker_admin_url=env.get("EHR_BROKER_ADMIN_URL", DEFAULT_BROKER_ADMIN_URL),
        broker_account_prefix=env.get("EHR_BROKER_ACCOUNT_PREFIX", "inst-"),
        max_encounter_bytes=limits["EHR_MAX_ENCOUNTER_BYTES"],
    )


def generate_key() -> str:
    """A fresh random key in the form the EHR_*_KEY variables take."""
    return base64.b64encode(os.urandom(32)).decode("ascii")


def nameko_config(settings: Settings) -> dict:
    """The nameko config dict for a service process built from the suite's settings."""
    return {
        "AMQP_URI": settings.amqp_uri,
        "serializer": "json",
        "max_workers": 10,
        "parent_calls_tracked": 10,
    }
