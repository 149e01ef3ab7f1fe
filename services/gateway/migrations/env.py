"""Alembic environment of the gateway (run by `ehr migrate` and `ehr up`)."""

from services.gateway.models import Base
from shared.db import run_alembic_env

run_alembic_env(Base.metadata)
