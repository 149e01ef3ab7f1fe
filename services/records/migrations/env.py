"""Alembic environment of the records service (run by `ehr migrate` and `ehr up`)."""

from services.records.models import Base
from shared.db import run_alembic_env

run_alembic_env(Base.metadata)
