"""Configuration from environment variables, with defaults for one development machine.

Every process of the suite reads the same variables, so an operator configures a whole
deployment (or a docker-compose file) in one place:

    EHR_AMQP_URI          amqp://guest:guest@127.0.0.1:5672/
    EHR_DATABASE_URL      postgresql://postgres@127.0.0.1:5432   (server, no database name)
    EHR_DB_PREFIX         ehr        -> databases ehr_registry, ehr_records, ...
    EHR_<SERVICE>_DATABASE_URL      full URL for one service, overrides the two above
                          These URLs name the databases' owner: `ehr migrate` and the operator's
                          commands connect with them. A service process connects to its database
                          as that database's own role `<database>_app` instead (created by the
                          migrations, least privileged: `service_url_for`), at the same host:
    EHR_<SERVICE>_DATABASE_PASSWORD the password of that role (unset: none, as under local trust
                          auth); `ehr migrate` sets it on the role when given. They are
                          EHR_REGISTRY_DATABASE_PASSWORD, EHR_RECORDS_DATABASE_PASSWORD and
                          EHR_GATEWAY_DATABASE_PASSWORD (and the URLs EHR_REGISTRY_DATABASE_URL,
                          EHR_RECORDS_DATABASE_URL, EHR_GATEWAY_DATABASE_URL)
    EHR_PII_KEY           base64 of 32 bytes: AES-256-GCM key for ID and phone numbers
    EHR_PII_OLD_KEYS      comma-separated older keys still accepted for decryption
    EHR_INDEX_KEY         base64 of 32 bytes: HMAC key of the blind indexes
    EHR_TOKEN_KEY         base64 of 32 bytes: HMAC-SHA256 key signing the gateway's bearer tokens
                          (the gateway refuses to start without it; rotating it signs everyone out)
    EHR_SERVICE_KEY       base64 of 32 bytes: HMAC-SHA256 key authenticating the suite's internal
                          messages (RPC calls and their acting user, events; see shared.signing);
                          every service process needs it, no partner is given it
    EHR_AUDIT_KEY         base64 of 32 bytes: HMAC-SHA256 key of the audit trail's chain (the gateway
                          and `ehr audit verify` need it; it never reaches the database)
    EHR_TOKEN_LIFETIME    seconds a sign-in token is valid (900)
    EHR_LOCKOUT_THRESHOLD consecutive failed sign-ins that lock an account (5)
    EHR_LOCKOUT_SECONDS   how long such a lock-out lasts, unless `ehr user unlock` lifts it sooner (900)
    EHR_SIGN_IN_WINDOW    seconds of the sign-in throttle's window (60)
    EHR_SIGN_IN_PER_ADDRESS   sign-in attempts one client address may make in a window (60); past
                          it the gateway answers 429 with Retry-After, before checking any password
    EHR_SIGN_IN_PER_USER  sign-in attempts on one username in a window, from anywhere (10)
    EHR_MAX_BODY_BYTES    largest request body the gateway reads (1048576, 1 MiB); a larger one is
                          refused with 413 before it is read, declared or chunked
    EHR_GRANT_LIFETIME    seconds an out-of-scope access grant (a stated reason) lasts (14400, 4 h)
    EHR_GRANT_DAILY_LIMIT grants one user may take in any 24 hours; past it the gateway answers 429 (20)
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

from sqlalchemy.engine import make_url

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432"


def database_role(database: str) -> str:
    """The least-privileged role a service connects to `database` as (roles are cluster-wide,
    so each database, e.g. a test run's, has its own)."""
    return f"{database}_app"


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
    database_passwords: dict[str, str] = field(default_factory=dict)
    pii_key: bytes | None = None
    pii_old_keys: tuple[bytes, ...] = ()
    index_key: bytes | None = None
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    rpc_timeout: float = 30.0
    log_level: str = "INFO"
    token_key: bytes | None = None
    service_key: bytes | None = None
    token_lifetime: int = 900
    lockout_threshold: int = 5
    lockout_seconds: int = 900
    sign_in_window: int = 60
    sign_in_per_address: int = 60
    sign_in_per_user: int = 10
    max_body_bytes: int = 1 << 20
    grant_lifetime: int = 4 * 3600
    grant_daily_limit: int = 20
    audit_key: bytes | None = None

    def database_name(self, service: str) -> str:
        return f"{self.db_prefix}_{service}"

    def database_url_for(self, service: str) -> str:
        """The SQLAlchemy URL of one service's own database."""
        override = self.database_overrides.get(service)
        if override:
            return override
        return f"{self.database_url.rstrip('/')}/{self.database_name(service)}"

    def service_url_for(self, service: str) -> str:
        """The URL a service process connects with: its own database, as that database's role
        (`database_role`: data, no DDL, not the owner), with EHR_<SERVICE>_DATABASE_PASSWORD."""
        url = make_url(self.database_url_for(service))
        url = url.set(username=database_role(url.database), password=self.database_passwords.get(service))
        return url.render_as_string(hide_password=False)

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

    def require_service_key(self) -> bytes:
        """The key signing and checking internal messages; every service process needs it."""
        if self.service_key is None:
            raise ConfigError("EHR_SERVICE_KEY must be set (base64 of 32 random bytes); `ehr keys` prints one")
        return self.service_key

    def require_audit_key(self) -> bytes:
        """The key of the audit trail's HMAC chain; the gateway needs it to append, and
        `ehr audit verify` to check entries written with it."""
        if self.audit_key is None:
            raise ConfigError("EHR_AUDIT_KEY must be set (base64 of 32 random bytes); `ehr keys` prints one")
        return self.audit_key


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    overrides = {
        name[len("EHR_"):-len("_DATABASE_URL")].lower(): value
        for name, value in env.items()
        if name.startswith("EHR_") and name.endswith("_DATABASE_URL") and name != "EHR_DATABASE_URL"
    }
    passwords = {
        name[len("EHR_"):-len("_DATABASE_PASSWORD")].lower(): value
        for name, value in env.items()
        if name.startswith("EHR_") and name.endswith("_DATABASE_PASSWORD") and value
    }
    audit_key = env.get("EHR_AUDIT_KEY")
    pii_key = env.get("EHR_PII_KEY")
    index_key = env.get("EHR_INDEX_KEY")
    token_key = env.get("EHR_TOKEN_KEY")
    service_key = env.get("EHR_SERVICE_KEY")
    old_keys = [k for k in env.get("EHR_PII_OLD_KEYS", "").split(",") if k.strip()]
    try:
        port = int(env.get("EHR_GATEWAY_PORT", "8000"))
        rpc_timeout = float(env.get("EHR_RPC_TIMEOUT", "30"))
    except ValueError as exc:
        raise ConfigError("EHR_GATEWAY_PORT and EHR_RPC_TIMEOUT must be numbers") from exc
    limits = {}
    for name, default in (("EHR_TOKEN_LIFETIME", 900), ("EHR_LOCKOUT_THRESHOLD", 5),
                          ("EHR_LOCKOUT_SECONDS", 900), ("EHR_SIGN_IN_WINDOW", 60),
                          ("EHR_SIGN_IN_PER_ADDRESS", 60), ("EHR_SIGN_IN_PER_USER", 10),
                          ("EHR_MAX_BODY_BYTES", 1 << 20), ("EHR_GRANT_LIFETIME", 4 * 3600),
                          ("EHR_GRANT_DAILY_LIMIT", 20)):
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
        database_passwords=passwords,
        pii_key=_decode_key("EHR_PII_KEY", pii_key) if pii_key else None,
        pii_old_keys=tuple(_decode_key("EHR_PII_OLD_KEYS", k.strip()) for k in old_keys),
        index_key=_decode_key("EHR_INDEX_KEY", index_key) if index_key else None,
        gateway_host=env.get("EHR_GATEWAY_HOST", "127.0.0.1"),
        gateway_port=port,
        rpc_timeout=rpc_timeout,
        log_level=env.get("EHR_LOG_LEVEL", "INFO"),
        token_key=_decode_key("EHR_TOKEN_KEY", token_key) if token_key else None,
        service_key=_decode_key("EHR_SERVICE_KEY", service_key) if service_key else None,
        token_lifetime=limits["EHR_TOKEN_LIFETIME"],
        lockout_threshold=limits["EHR_LOCKOUT_THRESHOLD"],
        lockout_seconds=limits["EHR_LOCKOUT_SECONDS"],
        sign_in_window=limits["EHR_SIGN_IN_WINDOW"],
        sign_in_per_address=limits["EHR_SIGN_IN_PER_ADDRESS"],
        sign_in_per_user=limits["EHR_SIGN_IN_PER_USER"],
        max_body_bytes=limits["EHR_MAX_BODY_BYTES"],
        grant_lifetime=limits["EHR_GRANT_LIFETIME"],
        grant_daily_limit=limits["EHR_GRANT_DAILY_LIMIT"],
        audit_key=_decode_key("EHR_AUDIT_KEY", audit_key) if audit_key else None,
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
