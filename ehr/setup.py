"""Preparing a machine for the suite: keys, databases, migrations, reference data."""

from __future__ import annotations

import os
from pathlib import Path

from shared.config import Settings, generate_key, load_settings
from shared.db import make_engine, prepare_database

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = {
    "registry": ROOT / "services" / "registry" / "migrations",
    "records": ROOT / "services" / "records" / "migrations",
}


def ensure_keys(state_dir: Path) -> None:
    """Give this process (and its children) PII keys: from the environment if set, else from
    `<state_dir>/secrets.env`, created with fresh random keys on first use (mode 0600)."""
    if os.environ.get("EHR_PII_KEY") and os.environ.get("EHR_INDEX_KEY"):
        return
    secrets = state_dir / "secrets.env"
    if not secrets.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(secrets, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"EHR_PII_KEY={generate_key()}\nEHR_INDEX_KEY={generate_key()}\n")
    for line in secrets.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            os.environ.setdefault(key.strip(), value.strip())


def migrate_all(settings: Settings | None = None, demo_data: bool = True) -> dict[str, bool]:
    """Create and migrate every service database; load the demo divisions and institutions into
    a registry that has no divisions yet. Returns {service: created}."""
    settings = settings or load_settings()
    created = {service: prepare_database(service, path, settings) for service, path in MIGRATIONS.items()}
    if demo_data and not has_reference_data(settings):
        load_demo_reference_data(settings)
    return created


def has_reference_data(settings: Settings) -> bool:
    import sqlalchemy as sa

    engine = make_engine(settings.database_url_for("registry"))
    try:
        with engine.connect() as conn:
            return bool(conn.scalar(sa.text("SELECT EXISTS (SELECT 1 FROM divisions)")))
    finally:
        engine.dispose()


def load_demo_reference_data(settings: Settings) -> tuple[int, int]:
    from sqlalchemy.orm import Session

    from services.registry.usecases import load_demo_reference_data as load

    engine = make_engine(settings.database_url_for("registry"))
    try:
        with Session(engine) as session:
            return load(session)
    finally:
        engine.dispose()
