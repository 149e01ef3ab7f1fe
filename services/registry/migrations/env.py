"""Alembic environment of the registry service (run by `ehr migrate` and `ehr up`)."""

from services.registry.models import Base
from shared.db import run_alembic_env

run_alembic_env(Base.metadata)
