"""Each service's migrations build exactly the schema its models describe."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services import SERVICES
from services.gateway.models import Base as GatewayBase
from services.programmes.models import Base as ProgrammesBase
from services.referrals.models import Base as ReferralsBase
from services.records.models import Base as RecordsBase
from services.registry.models import Base as RegistryBase
from services.sync.models import Base as SyncBase
from shared.db import drop_database, ensure_database, make_engine, upgrade
from tests.support.db import server_url

METADATA = {"registry": RegistryBase.metadata, "records": RecordsBase.metadata, "gateway": GatewayBase.metadata,
            "programmes": ProgrammesBase.metadata, "referrals": ReferralsBase.metadata,
            "sync": SyncBase.metadata}

# Indexes of expressions, which Alembic's comparison cannot match up: checked by their definition.
EXPRESSION_INDEXES = {
    "ix_archives_name_order": 'ON public.archives USING btree (name COLLATE "C", archive_no)',
    "ix_archives_name_pinyin_order": 'ON public.archives USING btree (name_pinyin COLLATE "C", archive_no)',
}


def _compared(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "index" and name in EXPRESSION_INDEXES)


@pytest.mark.parametrize("descriptor", SERVICES, ids=lambda d: d.name)
def test_migrations_on_an_empty_database_match_the_models(descriptor, suite_env, run_id):
    service = descriptor.name
    url = server_url(f"ehr_t{run_id}_{service}_migcheck")
    ensure_database(url)
    try:
        upgrade(descriptor.migrations, url)
        engine = make_engine(url)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": _compared}), METADATA[service])
            built = dict(conn.exec_driver_sql("SELECT indexname, indexdef FROM pg_indexes").all())
        engine.dispose()
        assert diff == []
        modelled = {i.name for table in METADATA[service].tables.values() for i in table.indexes}
        for name, definition in EXPRESSION_INDEXES.items():
            if name in modelled:
                assert built[name].endswith(definition), built[name]
    finally:
        drop_database(url)


def test_every_migrations_folder_is_run_by_ehr_migrate():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "services"
    on_disk = {p.parent.parent.name for p in root.glob("*/migrations/env.py")}
    assert on_disk == {s.name for s in SERVICES} == set(METADATA)
    assert all(s.migrations == root / s.name / "migrations" for s in SERVICES)
