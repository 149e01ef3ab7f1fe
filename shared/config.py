"""Configuration from environment variables, with defaults for one development machine.

An operator configures a whole deployment (or a docker-compose file) in one place; each service
process is given only the keys it uses (its descriptor's `keys`, `service_environment`).
Any of these variables can instead be given as a file: `EHR_X_FILE=/run/secrets/x` makes the
file's content the value of `EHR_X` (docker-compose and systemd secrets); setting both is an error.

    EHR_AMQP_URI          amqp://guest:guest@127.0.0.1:5672/   the suite's own (internal) broker account;
                          its vhost is the suite's. Never give it to a hospital or township
    EHR_BROKER_ADMIN_URL  http://guest:guest@127.0.0.1:15672   RabbitMQ's management HTTP API with an
                          administrator's credentials: `ehr broker grant|revoke|list` and `ehr up --demo`
    EHR_BROKER_ACCOUNT_PREFIX   inst-   partner accounts are named <prefix><institution code>
    EHR_MAX_ENCOUNTER_BYTES     262144 (256 KiB): a hospital message larger than this is quarantined
                          as too_large before it is parsed (the broker refuses any over 8 MiB)
    EHR_DATABASE_URL      postgresql://postgres@127.0.0.1:5432   (server, no database name). A URL
                          naming this machine (localhost, 127.0.0.1, ::1) without a password, the
                          default included, takes the one in <EHR_STATE_DIR>/database-password when
                          that file exists: `scripts/services` writes it (mode 0600) when it sets up
                          a local cluster that asks for passwords (stock Debian: scram-sha-256 on
                          127.0.0.1); trust-auth machines have no such file (`local_database_password`)
    EHR_DB_PREFIX         ehr        -> databases ehr_registry, ehr_records, ...
    EHR_<SERVICE>_DATABASE_URL      full URL for one service, overrides the two above
                          These URLs name the databases' owner: `ehr migrate` and the operator's
                          commands connect with them. A service process connects to its database
                          as that database's own role `<database>_app` instead (created by the
                          migrations, least privileged: `service_url_for`), at the same host:
    EHR_<SERVICE>_DATABASE_PASSWORD the password of that role (unset: none, as under local trust
                          auth, or one derived from the state directory's database password when
                          EHR_DATABASE_URL took it); `ehr migrate` sets it on the role when given. They are
                          EHR_REGISTRY_DATABASE_PASSWORD, EHR_RECORDS_DATABASE_PASSWORD,
                          EHR_GATEWAY_DATABASE_PASSWORD, EHR_PROGRAMMES_DATABASE_PASSWORD,
                          EHR_REFERRALS_DATABASE_PASSWORD and EHR_SYNC_DATABASE_PASSWORD (and the URLs
                          EHR_REGISTRY_DATABASE_URL, EHR_RECORDS_DATABASE_URL, EHR_GATEWAY_DATABASE_URL,
                          EHR_PROGRAMMES_DATABASE_URL, EHR_REFERRALS_DATABASE_URL, EHR_SYNC_DATABASE_URL)
    EHR_PII_KEY           base64 of 32 bytes: the registry's AES-256-GCM key for residents' identities
                          (ID and phone numbers, cards, MRNs)
    EHR_PII_OLD_KEYS      comma-separated older registry keys still accepted for decryption
    EHR_RECORDS_PII_KEY   base64 of 32 bytes: the records service's AES-256-GCM key for the messages
                          it keeps (pending and quarantined encounters)
    EHR_RECORDS_PII_OLD_KEYS   comma-separated older records keys still accepted for decryption
    EHR_INDEX_KEY         base64 of 32 bytes: HMAC key of the blind indexes (registry and records)
    EHR_TOKEN_KEY         base64 of 32 bytes: HMAC-SHA256 key signing the gateway's bearer tokens
                          (the gateway refuses to start without it; rotating it signs everyone out)
    EHR_SERVICE_KEY       base64 of 32 bytes: HMAC-SHA256 key authenticating the suite's internal
                          messages (RPC calls and their acting user, events; see shared.signing);
                          every service process needs it, no partner is given it
    EHR_AUDIT_KEY         base64 of 32 bytes: HMAC-SHA256 key of the audit trail's chain (the gateway
                          and `ehr audit verify` need it; it never reaches the database)
    EHR_SYNC_KEY          base64 of 32 bytes: HMAC-SHA256 key only the sync service and the registry hold;
                          the registry answers a resident's full identity for a document
                          (`identity_for_document`) only to a call proved with it (shared.signing)
    EHR_PLATFORM_URL      the regional platform's base URL (http://127.0.0.1:8090); the sync service
                          sends its documents there (`services/sync/platform.py`)
    EHR_PLATFORM_TOKEN    the bearer token the platform gave the suite (or EHR_PLATFORM_TOKEN_FILE)
    EHR_PLATFORM_FORMAT   cda (WS/T 483 CDA R2 XML, the default) or fhir (an R4 document Bundle)
    EHR_PLATFORM_TIMEOUT  seconds one request to the platform may take (10)
    EHR_PLATFORM_CA_FILE  a CA bundle to verify the platform's TLS certificate with (default: the
                          system's); verification is always on
    EHR_SYNC_MAX_ATTEMPTS transport failures of one document before it is held for an operator (8)
    EHR_TOKEN_LIFETIME    seconds a sign-in token is valid (900)
    EHR_LOCKOUT_THRESHOLD consecutive failed sign-ins that lock an account (5)
    EHR_LOCKOUT_SECONDS   how long such a lock-out lasts, unless `ehr user unlock` lifts it sooner (900)
    EHR_SIGN_IN_WINDOW    seconds of the sign-in throttle's window (60)
    EHR_SIGN_IN_PER_ADDRESS   sign-in attempts one client address may make in a window (60); past
                          it the gateway answers 429 with Retry-After, before checking any password
    EHR_SIGN_IN_PER_USER  sign-in attempts on one username in a window, from anywhere (10)
    EHR_MAX_BODY_BYTES    largest request body the gateway reads (1048576, 1 MiB); a larger one is
                          refused with 413 before it is read, declared or chunked
    EHR_MAX_ATTACHMENT_BYTES  largest file kept with an archive (5242880, 5 MiB), read by the
                          records service (which refuses a larger file, 400) and the gateway (whose
                          attachment upload route reads a body up to its base64 size plus 64 KiB):
                          a common setting, the same for both. A file crosses RPC in base64 in one
                          message, which the broker bounds at 8 MiB: at most 6242304 bytes
    EHR_GRANT_LIFETIME    seconds an out-of-scope access grant (a stated reason) lasts (14400, 4 h)
    EHR_GRANT_DAILY_LIMIT grants one user may take in any 24 hours; past it the gateway answers 429 (20)
    EHR_WEB_SESSION_IDLE  seconds a web-page session lasts without a request (1800, 30 minutes)
    EHR_WEB_SESSION_LIFETIME  seconds a web-page session lasts at most, however busy (36000, 10 h)
    EHR_GATEWAY_HOST / EHR_GATEWAY_PORT    127.0.0.1 / 8000
    EHR_RPC_TIMEOUT       seconds an RPC call may take before it counts as failed (30)
    EHR_LOG_LEVEL         INFO
    EHR_LOG_FORMAT        json (one JSON object per line) or text (`12:00:01 INFO  msg key=value`,
                          for a terminal; `ehr up` picks text when its output is a terminal)
    EHR_PROCESS           the process's name in logs and its heartbeat file (`records.2`; `ehr up`
                          names its processes, a container is named by its service)
    EHR_RUN_DIR           where each service process keeps its heartbeat file `<process>.alive`,
                          which `ehr health` reads (default $EHR_STATE_DIR/run, i.e. ./var/run)
    EHR_STATE_DIR         ./var: where `ehr up` keeps the keys it generated for a development
                          machine (secrets.env, mode 0600) when EHR_PII_KEY is not set, and
                          `scripts/services` the local database password (database-password, 0600)

One key, one purpose: `load_settings` refuses two variables named `EHR_*_KEY` (or lists named
`EHR_*_KEYS`) of different purposes that hold the same key, naming the variables. Old keys of
two purposes may share a key (a key that served both before they were separated), never an old
key and a current key of two purposes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432"
DEFAULT_BROKER_ADMIN_URL = "http://guest:guest@127.0.0.1:15672"
DEFAULT_MAX_ENCOUNTER_BYTES = 256 * 1024
# A file crosses RPC in base64 within one message, which the broker bounds at 8 MiB (max_message_size):
# (8 MiB - 64 KiB for the JSON and the envelope around it) * 3/4.
MAX_ATTACHMENT_CEILING = ((8 << 20) - (64 << 10)) * 3 // 4
LOG_FORMATS = ("json", "text")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
DATABASE_PASSWORD_FILE = "database-password"


def state_dir(environ=None) -> Path:
    """Where a development machine keeps what it generated: EHR_STATE_DIR, else ./var."""
    env = os.environ if environ is None else environ
    return Path(env.get("EHR_STATE_DIR") or Path.cwd() / "var")


def local_database_password(environ=None) -> str | None:
    """The password `scripts/services` gave the local cluster's role (<state dir>/database-password),
    or None where there is none (a trust-auth machine, or one that was never set up)."""
    try:
        return (state_dir(environ) / DATABASE_PASSWORD_FILE).read_text().strip() or None
    except FileNotFoundError:
        return None


def _with_local_password(url: str, environ) -> tuple[str, str | None]:
    """`url` with the state directory's password when it names this machine without one, and
    that password (None when the URL is kept as it is)."""
    parsed = make_url(url)
    if parsed.password or parsed.host not in LOCAL_HOSTS:
        return url, None
    password = local_database_password(environ)
    if password is None:
        return url, None
    return parsed.set(password=password).render_as_string(hide_password=False), password


def _derived_password(password: str, service: str) -> str:
    """A service role's own password, derived from the local database password (one secret to
    keep on a development machine, a different password for each role)."""
    return hmac.new(password.encode(), f"ehr service role {service}".encode(), hashlib.sha256).hexdigest()[:32]


def database_role(database: str) -> str:
    """The least-privileged role a service connects to `database` as (roles are cluster-wide,
    so each database, e.g. a test run's, has its own)."""
    return f"{database}_app"


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable, never its value."""


# Each service's PII box: its encryption key's variable and the Settings field of its old keys
# (the blind-index key is shared). And the Settings field of each single key variable.
_PII_KEYS = {"registry": ("EHR_PII_KEY", "pii_old_keys"), "records": ("EHR_RECORDS_PII_KEY", "records_pii_old_keys")}
_KEY_FIELDS = {"EHR_PII_KEY": "pii_key", "EHR_RECORDS_PII_KEY": "records_pii_key", "EHR_INDEX_KEY": "index_key",
               "EHR_TOKEN_KEY": "token_key", "EHR_SERVICE_KEY": "service_key", "EHR_AUDIT_KEY": "audit_key",
               "EHR_SYNC_KEY": "sync_key"}
# A key variable: EHR_<PURPOSE>_KEY, or a list EHR_<PURPOSE>_OLD_KEYS / EHR_<PURPOSE>_KEYS.
_KEY_VARIABLE = re.compile(r"EHR_(?P<purpose>[A-Z0-9_]+?)(?P<old>_OLD)?_KEYS?")
FILE_SUFFIX = "_FILE"


def is_key_variable(name: str) -> bool:
    """EHR_<PURPOSE>_KEY(S), or the same given as a file (EHR_<PURPOSE>_KEY_FILE)."""
    return _KEY_VARIABLE.fullmatch(name.removesuffix(FILE_SUFFIX)) is not None


def service_environment(service, environ: dict[str, str]) -> dict[str, str]:
    """`environ` without the key variables `service` (a `shared.service.ServiceDescriptor`) does
    not use, whether given as values or as files (every other variable kept)."""
    own = {*service.keys, *service.optional_keys}
    return {name: value for name, value in environ.items()
            if not is_key_variable(name) or name.removesuffix(FILE_SUFFIX) in own}


def resolve_files(environ) -> dict[str, str]:
    """`environ` with every `EHR_X_FILE` replaced by `EHR_X`, the content of the file it names
    (one trailing newline dropped), as docker-compose's and systemd's secrets hand them over.
    ConfigError when both are set or the file cannot be read (naming the variable, never a value).

        {"EHR_PII_KEY_FILE": "/run/secrets/ehr_pii_key"} -> {"EHR_PII_KEY": "q8Jc...="}
    """
    env = dict(environ)
    for name in [n for n in env if n.startswith("EHR_") and n.endswith(FILE_SUFFIX)]:
        variable, path = name.removesuffix(FILE_SUFFIX), env.pop(name)
        if not path:
            continue
        if env.get(variable):
            raise ConfigError(f"both {variable} and {name} are set: give one of them")
        try:
            with open(path, encoding="utf-8") as f:
                value = f.read()
        except OSError as exc:
            raise ConfigError(f"{name} names a file that cannot be read ({exc.strerror})") from None
        env[variable] = value.removesuffix("\n").removesuffix("\r")
    return env


def _key_material(raw: str) -> bytes:
    """A key as bytes for comparison: base64 decoded when it is base64, else as written."""
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return raw.encode()


def refuse_reused_keys(env: dict[str, str]) -> None:
    """ConfigError naming the variables when two purposes share a key (see the module doc)."""
    seen: dict[bytes, list[tuple[str, str, bool]]] = {}
    for name in sorted(env):
        match = _KEY_VARIABLE.fullmatch(name)
        if match is None or not env[name].strip():
            continue
        old = bool(match["old"])
        for raw in env[name].split(",") if name.endswith("_KEYS") else [env[name]]:
            if raw.strip():
                seen.setdefault(_key_material(raw.strip()), []).append((name, match["purpose"], old))
    for holders in seen.values():
        purposes = {purpose for _, purpose, _ in holders}
        if len(purposes) > 1 and not all(old for _, _, old in holders):
            names = sorted({name for name, _, _ in holders})
            raise ConfigError(f"{' and '.join(names)} hold the same key: each purpose needs its own key "
                              "(`ehr keys` prints fresh ones)")


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
    local_database_password: str | None = None  # <state dir>/database-password, for a local URL without one
    pii_key: bytes | None = None
    pii_old_keys: tuple[bytes, ...] = ()
    records_pii_key: bytes | None = None
    records_pii_old_keys: tuple[bytes, ...] = ()
    index_key: bytes | None = None
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    rpc_timeout: float = 30.0
    log_level: str = "INFO"
    log_format: str = "json"
    run_dir: str = "var/run"
    process_name: str = ""
    token_key: bytes | None = None
    service_key: bytes | None = None
    token_lifetime: int = 900
    lockout_threshold: int = 5
    lockout_seconds: int = 900
    sign_in_window: int = 60
    sign_in_per_address: int = 60
    sign_in_per_user: int = 10
    max_body_bytes: int = 1 << 20
    max_attachment_bytes: int = 5 << 20
    grant_lifetime: int = 4 * 3600
    grant_daily_limit: int = 20
    web_session_idle: int = 1800
    web_session_lifetime: int = 36000
    audit_key: bytes | None = None
    sync_key: bytes | None = None
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

    def service_url_for(self, service: str) -> str:
        """The URL a service process connects with: its own database, as that database's role
        (`database_role`: data, no DDL, not the owner), with EHR_<SERVICE>_DATABASE_PASSWORD."""
        url = make_url(self.database_url_for(service))
        url = url.set(username=database_role(url.database), password=self.database_password(service))
        return url.render_as_string(hide_password=False)

    def database_password(self, service: str) -> str | None:
        """The password of `service`'s role: EHR_<SERVICE>_DATABASE_PASSWORD, else one derived from
        the local database password (a development machine's cluster that asks for one), else None."""
        explicit = self.database_passwords.get(service)
        if explicit or not self.local_database_password:
            return explicit
        return _derived_password(self.local_database_password, service)

    def require_keys(self) -> tuple[bytes, bytes]:
        """The registry's PII encryption key and the blind-index key (`pii_keys("registry")`)."""
        key, _, index_key = self.pii_keys("registry")
        return key, index_key

    def pii_keys(self, service: str) -> tuple[bytes, tuple[bytes, ...], bytes]:
        """(encryption key, old keys, blind-index key) of `service`'s personal data: the registry's
        identities or the records service's messages; ConfigError naming what is missing."""
        if service not in _PII_KEYS:
            raise ConfigError(f"the {service} service keeps no personal data and has no PII key")
        variable, old_keys = _PII_KEYS[service]
        self._require(service, (variable, "EHR_INDEX_KEY"))
        return getattr(self, _KEY_FIELDS[variable]), getattr(self, old_keys), self.index_key

    def require_service_keys(self, service) -> None:
        """ConfigError unless every key `service` (a `shared.service.ServiceDescriptor`) needs is set."""
        self._require(service.name, service.keys)

    def _require(self, service: str, variables) -> None:
        missing = [name for name in variables if getattr(self, _KEY_FIELDS[name]) is None]
        if missing:
            raise ConfigError(f"the {service} service needs {' and '.join(missing)} (base64 of 32 random "
                              "bytes each); `ehr keys` prints fresh keys")

    def require_key(self, variable: str) -> bytes:
        """The key of one EHR_*_KEY variable; ConfigError naming it when it is not set."""
        key = getattr(self, _KEY_FIELDS[variable])
        if key is None:
            raise ConfigError(f"{variable} must be set (base64 of 32 random bytes); `ehr keys` prints one")
        return key

    def require_token_key(self) -> bytes:
        """The key signing bearer tokens; the gateway needs it, the other services do not."""
        return self.require_key("EHR_TOKEN_KEY")

    def require_service_key(self) -> bytes:
        """The key signing and checking internal messages; every service process needs it."""
        return self.require_key("EHR_SERVICE_KEY")

    def require_audit_key(self) -> bytes:
        """The key of the audit trail's HMAC chain; the gateway needs it to append, and
        `ehr audit verify` to check entries written with it."""
        return self.require_key("EHR_AUDIT_KEY")


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = resolve_files(os.environ if environ is None else environ)
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
    database_url, local_password = _with_local_password(env.get("EHR_DATABASE_URL", DEFAULT_DATABASE_URL), env)
    refuse_reused_keys(env)
    try:
        port = int(env.get("EHR_GATEWAY_PORT", "8000"))
        rpc_timeout = float(env.get("EHR_RPC_TIMEOUT", "30"))
    except ValueError as exc:
        raise ConfigError("EHR_GATEWAY_PORT and EHR_RPC_TIMEOUT must be numbers") from exc
    log_format = env.get("EHR_LOG_FORMAT") or "json"
    if log_format not in LOG_FORMATS:
        raise ConfigError(f"EHR_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")
    limits = {}
    for name, default in (("EHR_TOKEN_LIFETIME", 900), ("EHR_LOCKOUT_THRESHOLD", 5),
                          ("EHR_LOCKOUT_SECONDS", 900), ("EHR_SIGN_IN_WINDOW", 60),
                          ("EHR_SIGN_IN_PER_ADDRESS", 60), ("EHR_SIGN_IN_PER_USER", 10),
                          ("EHR_MAX_BODY_BYTES", 1 << 20), ("EHR_GRANT_LIFETIME", 4 * 3600),
                          ("EHR_GRANT_DAILY_LIMIT", 20), ("EHR_MAX_ATTACHMENT_BYTES", 5 << 20),
                          ("EHR_MAX_ENCOUNTER_BYTES", DEFAULT_MAX_ENCOUNTER_BYTES),
                          ("EHR_WEB_SESSION_IDLE", 1800), ("EHR_WEB_SESSION_LIFETIME", 36000)):
        try:
            limits[name] = int(env.get(name, default))
        except ValueError as exc:
            raise ConfigError(f"{name} must be a whole number") from exc
        if limits[name] < 1:
            raise ConfigError(f"{name} must be at least 1")
    if limits["EHR_MAX_ATTACHMENT_BYTES"] > MAX_ATTACHMENT_CEILING:
        raise ConfigError(f"EHR_MAX_ATTACHMENT_BYTES must be at most {MAX_ATTACHMENT_CEILING} (its base64, "
                          "with the message around it, must fit the broker's 8 MiB bound)")
    return Settings(
        amqp_uri=env.get("EHR_AMQP_URI", DEFAULT_AMQP_URI),
        database_url=database_url,
        db_prefix=env.get("EHR_DB_PREFIX", "ehr"),
        database_overrides=overrides,
        database_passwords=passwords,
        local_database_password=local_password,
        pii_key=_key(env, "EHR_PII_KEY"),
        pii_old_keys=_keys(env, "EHR_PII_OLD_KEYS"),
        records_pii_key=_key(env, "EHR_RECORDS_PII_KEY"),
        records_pii_old_keys=_keys(env, "EHR_RECORDS_PII_OLD_KEYS"),
        index_key=_key(env, "EHR_INDEX_KEY"),
        gateway_host=env.get("EHR_GATEWAY_HOST", "127.0.0.1"),
        gateway_port=port,
        rpc_timeout=rpc_timeout,
        log_level=env.get("EHR_LOG_LEVEL", "INFO"),
        log_format=log_format,
        run_dir=env.get("EHR_RUN_DIR") or str(state_dir(env) / "run"),
        process_name=env.get("EHR_PROCESS", ""),
        token_key=_key(env, "EHR_TOKEN_KEY"),
        service_key=_key(env, "EHR_SERVICE_KEY"),
        token_lifetime=limits["EHR_TOKEN_LIFETIME"],
        lockout_threshold=limits["EHR_LOCKOUT_THRESHOLD"],
        lockout_seconds=limits["EHR_LOCKOUT_SECONDS"],
        sign_in_window=limits["EHR_SIGN_IN_WINDOW"],
        sign_in_per_address=limits["EHR_SIGN_IN_PER_ADDRESS"],
        sign_in_per_user=limits["EHR_SIGN_IN_PER_USER"],
        max_body_bytes=limits["EHR_MAX_BODY_BYTES"],
        max_attachment_bytes=limits["EHR_MAX_ATTACHMENT_BYTES"],
        grant_lifetime=limits["EHR_GRANT_LIFETIME"],
        grant_daily_limit=limits["EHR_GRANT_DAILY_LIMIT"],
        web_session_idle=limits["EHR_WEB_SESSION_IDLE"],
        web_session_lifetime=limits["EHR_WEB_SESSION_LIFETIME"],
        audit_key=_key(env, "EHR_AUDIT_KEY"),
        sync_key=_key(env, "EHR_SYNC_KEY"),
        broker_admin_url=env.get("EHR_BROKER_ADMIN_URL", DEFAULT_BROKER_ADMIN_URL),
        broker_account_prefix=env.get("EHR_BROKER_ACCOUNT_PREFIX", "inst-"),
        max_encounter_bytes=limits["EHR_MAX_ENCOUNTER_BYTES"],
    )


def _key(env, name: str) -> bytes | None:
    raw = env.get(name)
    return _decode_key(name, raw) if raw else None


def _keys(env, name: str) -> tuple[bytes, ...]:
    return tuple(_decode_key(name, k.strip()) for k in env.get(name, "").split(",") if k.strip())


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
