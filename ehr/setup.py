"""Preparing a machine for the suite: keys, databases, migrations, reference data."""

from __future__ import annotations

import os
from pathlib import Path

import services as suite
from shared.config import FILE_SUFFIX, Settings, generate_key, load_settings
from shared.db import make_engine, prepare_database

ROOT = Path(__file__).resolve().parent.parent

# One key per purpose (each service's descriptor says which it gets: `services.SERVICES`).
KEY_VARIABLES = ("EHR_PII_KEY", "EHR_RECORDS_PII_KEY", "EHR_INDEX_KEY", "EHR_TOKEN_KEY", "EHR_SERVICE_KEY",
                 "EHR_AUDIT_KEY", "EHR_SYNC_KEY")


def ensure_keys(state_dir: Path, services: tuple[str, ...] | None = None) -> None:
    """Give this process the keys of `services` (default every service: the PII keys of the
    registry and of records, the blind-index key, the token signing key): from the environment if
    set, else from `<state_dir>/secrets.env`, where a key that is missing is generated on first use
    (the file is created with mode 0600). `ehr up` hands each service only its own
    (`service_environment`); a command run in one service's container finds its keys set."""
    needed = KEY_VARIABLES if services is None else {name for s in services for name in suite.service(s).keys}
    if all(_given(name) for name in needed):
        return
    secrets = state_dir / "secrets.env"
    stored = _read_env_file(secrets) if secrets.exists() else {}
    missing = [name for name in KEY_VARIABLES if name not in stored and not _given(name)]
    if missing:
        state_dir.mkdir(parents=True, exist_ok=True)
        newline = secrets.exists() and not secrets.read_text().endswith("\n")
        fd = os.open(secrets, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as f:
            f.write("\n" * newline + "".join(f"{name}={generate_key()}\n" for name in missing))
        stored = _read_env_file(secrets)
    for key, value in stored.items():
        if not _given(key):
            os.environ[key] = value


def _given(name: str) -> bool:
    """Set in this environment, as a value or as a file (EHR_X_FILE)."""
    return bool(os.environ.get(name) or os.environ.get(name + FILE_SUFFIX))


def load_keys(state_dir: Path) -> None:
    """Like `ensure_keys`, but only reads: what `ehr up` stored is used, nothing is generated (a
    command that signs audit entries must not invent a key the gateway does not have)."""
    secrets = state_dir / "secrets.env"
    if secrets.exists():
        for key, value in _read_env_file(secrets).items():
            if not _given(key):
                os.environ[key] = value


def _read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def migrate_all(settings: Settings | None = None, demo_data: bool = False) -> dict[str, bool]:
    """Create and migrate the database of every service (`services.SERVICES`); only when asked
    (`demo_data`: `ehr migrate --demo-data`, `ehr up --demo`), load the demo county's divisions
    and institutions into a registry that has no divisions yet. Returns {service: created}."""
    settings = settings or load_settings()
    created = {s.name: prepare_database(s.name, s.migrations, settings) for s in suite.SERVICES}
    if demo_data and not has_reference_data(settings):
        load_demo_reference_data(settings)
    return created


def has_reference_data(settings: Settings) -> bool:
    """Whether the registry holds divisions already (asked through the registry's own module)."""
    from sqlalchemy.orm import Session

    from services.registry.reference import has_reference_data as holds

    engine = make_engine(settings.database_url_for("registry"))
    try:
        with Session(engine) as session:
            return holds(session)
    finally:
        engine.dispose()


def load_demo_reference_data(settings: Settings) -> tuple[int, int]:
    from sqlalchemy.orm import Session

    from services.registry.reference import load_demo_reference_data as load

    engine = make_engine(settings.database_url_for("registry"))
    try:
        with Session(engine) as session:
            return load(session)
    finally:
        engine.dispose()
