"""Alembic environment of the programmes service (run by `ehr migrate` and `ehr up`)."""

from services.programmes.models import Base
from shared.db import run_alembic_env

run_alembic_env(Base.metadata)
