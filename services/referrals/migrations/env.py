"""Alembic environment of the referrals service (run by `ehr migrate` and `ehr up`)."""

from services.referrals.models import Base
from shared.db import run_alembic_env

run_alembic_env(Base.metadata)
