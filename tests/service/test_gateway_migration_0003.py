"""Gateway migration 0003 on a database that already has accounts: lock-outs taken before it end
by themselves, and every user starts at token version 0 (the tokens they hold carry none, so
they sign in again once)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from services import service as descriptor_of
from shared.db import alembic_config, drop_database, ensure_database, make_engine
from tests.support.db import server_url


def test_accounts_locked_before_the_migration_are_locked_for_fifteen_minutes_more(run_id, suite_env):
    url = server_url(f"ehr_t{run_id}_gateway_mig0003")
    ensure_database(url)
    engine = make_engine(url)
    try:
        config = alembic_config(descriptor_of("gateway").migrations, url)
        command.upgrade(config, "0002")
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO users (username, password_hash, institution_code, role, failed_attempts, locked_at) "
                "VALUES ('locked01', 'x', 'T1101051011', 'township_doctor', 5, now() - interval '3 days'), "
                "       ('active01', 'x', 'T1101051011', 'township_doctor', 2, NULL)"))
        command.upgrade(config, "0003")
        with engine.connect() as conn:
            rows = {r.username: r for r in conn.execute(sa.text(
                "SELECT username, token_version, failed_attempts, "
                "       extract(epoch FROM locked_until - now()) AS locked_for FROM users"))}
            attempts = conn.execute(sa.text("SELECT count(*) FROM sign_in_attempts")).scalar()
        assert 890 < rows["locked01"].locked_for <= 900
        assert rows["active01"].locked_for is None and rows["active01"].failed_attempts == 2
        assert {r.token_version for r in rows.values()} == {0} and attempts == 0
        command.downgrade(config, "0002")
    finally:
        engine.dispose()
        drop_database(url)
