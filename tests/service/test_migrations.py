"""Each service's migrations build exactly the schema its models describe."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ehr.setup import MIGRATIONS
from services.gateway.models import Base as GatewayBase
from services.records.models import Base as RecordsBase
from services.registry.models import Base as RegistryBase
from shared.db import drop_database, ensure_database, make_engine, upgrade

METADATA = {"registry": RegistryBase.metadata, "records": RecordsBase.metadata, "gateway": GatewayBase.metadata}


@pytest.mark.parametrize("service", sorted(MIGRATIONS))
def test_migrations_on_an_empty_database_match_the_models(service, suite_env, run_id):
    url = f"postgresql://postgres@127.0.0.1:5432/ehr_t{run_id}_{service}_migcheck"
    ensure_database(url)
    try:
        upgrade(MIGRATIONS[service], url)
        engine = make_engine(url)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                    METADATA[service])
        engine.dispose()
        assert diff == []
    finally:
        drop_database(url)


def test_every_migrations_folder_is_run_by_ehr_migrate():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "services"
    on_disk = {p.parent.parent.name for p in root.glob("*/migrations/env.py")}
    assert on_disk == set(MIGRATIONS) == set(METADATA)
