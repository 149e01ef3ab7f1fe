"""The audit trail is append-only and tamper-evident: `ehr audit verify` finds an edited or a
deleted entry, and concurrent appends never fork the chain; entries chained before the
one-statement append (migration 0002) still verify. Runs on a scratch gateway database
of its own, since it tampers with it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import eventlet
import pytest
import sqlalchemy as sa
from alembic import command
from click.testing import CliRunner
from sqlalchemy.orm import Session

from ehr.cli import main as ehr
from ehr.setup import MIGRATIONS
from services.gateway import audit
from shared.db import alembic_config, drop_database, ensure_database, make_engine, upgrade


@pytest.fixture
def trail(suite_env, run_id, monkeypatch):
    url = f"postgresql://postgres@127.0.0.1:5432/ehr_t{run_id}_gateway_audit"
    drop_database(url)
    ensure_database(url)
    upgrade(MIGRATIONS["gateway"], url)
    monkeypatch.setenv("EHR_GATEWAY_DATABASE_URL", url)  # what `ehr audit ...` opens
    engine = make_engine(url, pool_size=12)
    yield engine
    engine.dispose()
    drop_database(url)


def _append(engine, n: int, **overrides) -> None:
    for i in range(n):
        with Session(engine) as session:
            audit.append(session, audit.Draft(**{
                "action": "archive.read", "actor": f"doc{i % 3}", "actor_kind": "user", "role": "township_doctor",
                "institution_code": "T1101051011", "archive_no": f"1101051011010000{i % 10}", "outcome": "ok",
                "status": 200, "request_id": f"req{i}", **overrides}))


def _tamper(engine, sql: str) -> None:
    """What someone with the database's superuser can do: switch the append-only trigger off."""
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(sa.text(sql))


def _verify():
    return CliRunner().invoke(ehr, ["audit", "verify"])


def test_an_intact_chain_verifies(trail):
    _append(trail, 12)
    result = _verify()
    assert result.exit_code == 0, result.output
    assert "intact: 12 entries" in result.output


def test_the_trail_refuses_updates_and_deletes(trail):
    _append(trail, 2)
    for sql in ("UPDATE audit_entries SET outcome = 'denied'", "DELETE FROM audit_entries WHERE seq = 1"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with trail.begin() as conn:
                conn.execute(sa.text(sql))


def test_an_edited_entry_breaks_the_chain_at_that_entry(trail):
    _append(trail, 10)
    _tamper(trail, "UPDATE audit_entries SET actor = 'someone-else' WHERE seq = 4")
    result = _verify()
    assert result.exit_code == 1
    assert "BROKEN at entry 4" in result.output and "altered" in result.output


def test_an_edit_with_its_hash_recomputed_breaks_the_link_to_the_next_entry(trail):
    _append(trail, 10)
    with Session(trail) as session:
        entry = session.get(audit.AuditEntry, 6)
        fields = {name: getattr(entry, name) for name in audit._HASHED} | {"outcome": "denied"}
    _tamper(trail, f"UPDATE audit_entries SET outcome = 'denied', hash = '{audit.entry_hash(fields)}' WHERE seq = 6")
    result = _verify()
    assert result.exit_code == 1 and "BROKEN at entry 7" in result.output


def test_a_deleted_entry_breaks_the_chain(trail):
    _append(trail, 10)
    _tamper(trail, "DELETE FROM audit_entries WHERE seq = 5")
    result = _verify()
    assert result.exit_code == 1 and "BROKEN at entry 5" in result.output and "missing" in result.output


def test_deleting_the_newest_entries_shows_against_the_head(trail):
    _append(trail, 10)
    _tamper(trail, "DELETE FROM audit_entries WHERE seq >= 9")
    result = _verify()
    assert result.exit_code == 1 and "BROKEN at entry 9" in result.output


def test_concurrent_appends_form_one_unbroken_chain(trail):
    pool = eventlet.GreenPool(10)
    for worker in range(10):
        pool.spawn(_append, trail, 8, actor=f"w{worker}")
    pool.waitall()
    with Session(trail) as session:
        result = audit.verify(session)
        seqs = session.scalars(sa.select(audit.AuditEntry.seq).order_by(audit.AuditEntry.seq)).all()
    assert result.ok and result.checked == 80
    assert seqs == list(range(1, 81))


def test_queries_answer_who_looked_at_an_archive_and_what_a_user_did(trail):
    _append(trail, 9)
    by_archive = CliRunner().invoke(ehr, ["audit", "archive", "11010510110100002"])
    assert by_archive.exit_code == 0 and by_archive.output.count("archive.read") == 1
    by_user = CliRunner().invoke(ehr, ["audit", "user", "doc1"])
    assert by_user.exit_code == 0 and by_user.output.count("doc1 (township_doctor") == 3


def test_appends_are_one_statement_and_each_entry_is_linked_by_the_server_as_verify_computes_it(trail):
    statements = []
    sa.event.listen(trail, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with Session(trail) as session:
        appended = audit.append(session, audit.Draft(action="archive.read", actor="doc01", status=200, outcome="ok"))
    assert len(statements) == 1 and "audit_append" in statements[0]
    with Session(trail) as session:
        entry = session.get(audit.AuditEntry, appended.seq)
        fields = {name: getattr(entry, name) for name in audit._HASHED}
    assert entry.scheme == audit.SCHEME and entry.prev_hash == "0" * 64
    assert audit.entry_hash(fields) == entry.hash == appended.hash


def test_entries_written_before_migration_0002_still_verify_and_still_show_edits(suite_env, run_id, monkeypatch):
    url = f"postgresql://postgres@127.0.0.1:5432/ehr_t{run_id}_gateway_audit_v1"
    drop_database(url)
    ensure_database(url)
    monkeypatch.setenv("EHR_GATEWAY_DATABASE_URL", url)
    engine = make_engine(url)
    try:
        command.upgrade(alembic_config(MIGRATIONS["gateway"], url), "0001")
        prev, start = "0" * 64, datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
        with engine.begin() as conn:  # as the gateway appended them before: hash of the whole entry's JSON
            for seq in range(1, 6):
                fields = {name: None for name in audit._HASHED} | {
                    "seq": seq, "at": start + timedelta(seconds=seq), "actor": "doc01", "actor_kind": "user",
                    "action": "archive.read", "out_of_scope": False, "outcome": "ok", "status": 200, "prev_hash": prev}
                prev = audit.entry_hash(fields, scheme=1)
                conn.execute(sa.insert(sa.table("audit_entries", *map(sa.column, [*fields, "hash"]))),
                             {**fields, "hash": prev})
            conn.execute(sa.text("UPDATE audit_head SET seq = 5, hash = :h"), {"h": prev})
        upgrade(MIGRATIONS["gateway"], url)
        _append(engine, 3)
        result = _verify()
        assert result.exit_code == 0 and "intact: 8 entries" in result.output, result.output
        _tamper(engine, "UPDATE audit_entries SET actor = 'someone-else' WHERE seq = 2")
        result = _verify()
        assert result.exit_code == 1 and "BROKEN at entry 2" in result.output
    finally:
        engine.dispose()
        drop_database(url)
