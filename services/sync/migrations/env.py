"""Alembic environment of the sync service (run by `ehr migrate` and `ehr up`)."""

from services.sync.models import Base
from shared.db import run_alembic_env

run_alembic_env(Base.metadata)
