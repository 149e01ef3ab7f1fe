"""The audit trail is append-only and tamper-evident: `ehr audit verify` finds an edited or a
deleted entry, a chain re-linked without EHR_AUDIT_KEY, and (against an exported head) a cut
tail; concurrent appends never fork the chain; entries chained before the keyed chain
(migrations 0002 and 0005) still verify. Runs on a scratch gateway database of its own, since it
tampers with it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import json
import os

import eventlet
import pytest
import sqlalchemy as sa
from alembic import command
from click.testing import CliRunner
from sqlalchemy.orm import Session

from ehr.cli import main as ehr
from services import service as descriptor_of
from services.gateway import audit
from shared.config import load_settings
from shared.db import alembic_config, drop_database, ensure_database, make_engine, upgrade
from tests.support.db import server_url


def _key() -> bytes:
    return load_settings().require_audit_key()


@pytest.fixture
def trail(suite_env, run_id, monkeypatch):
    url = server_url(f"ehr_t{run_id}_gateway_audit")
    drop_database(url)
    ensure_database(url)
    upgrade(descriptor_of("gateway").migrations, url)
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
                "status": 200, "request_id": f"req{i}", **overrides}), _key())


def _tamper(engine, sql: str) -> None:
    """What someone with the database's superuser can do: switch the append-only trigger off."""
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(sa.text(sql))


def _verify(*args):
    return CliRunner().invoke(ehr, ["audit", "verify", *args])


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
    _tamper(trail, f"UPDATE audit_entries SET outcome = 'denied', hash = '{audit.entry_hash(fields, key=_key())}' "
                   "WHERE seq = 6")
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
        result = audit.verify(session, _key())
        seqs = session.scalars(sa.select(audit.AuditEntry.seq).order_by(audit.AuditEntry.seq)).all()
    assert result.ok and result.checked == 80
    assert seqs == list(range(1, 81))


def test_queries_answer_who_looked_at_an_archive_and_what_a_user_did(trail):
    _append(trail, 9)
    by_archive = CliRunner().invoke(ehr, ["audit", "archive", "11010510110100002"])
    assert by_archive.exit_code == 0 and by_archive.output.count("archive.read") == 1
    by_user = CliRunner().invoke(ehr, ["audit", "user", "doc1"])
    assert by_user.exit_code == 0 and by_user.output.count("doc1 (township_doctor") == 3


def _rechain(engine, from_seq: int, link, scheme: int = audit.SCHEME) -> None:
    """What someone with the database but without the key can do: recompute every link from
    `from_seq` on, and the head, with `link(prev_hash, seq, at, digest)`."""
    with Session(engine) as session:
        prev = session.get(audit.AuditEntry, from_seq - 1).hash
        updates = []
        for entry in session.scalars(sa.select(audit.AuditEntry).where(audit.AuditEntry.seq >= from_seq)
                                     .order_by(audit.AuditEntry.seq)):
            hash_ = link(prev, entry.seq, entry.at,
                         audit.content_digest({name: getattr(entry, name) for name in audit._HASHED}))
            updates.append((entry.seq, prev, hash_))
            prev = hash_
    for seq, prev_hash, hash_ in updates:
        _tamper(engine, f"UPDATE audit_entries SET prev_hash = '{prev_hash}', hash = '{hash_}', scheme = {scheme} "
                        f"WHERE seq = {seq}")
    _tamper(engine, f"UPDATE audit_head SET seq = {updates[-1][0]}, hash = '{updates[-1][2]}'")


def test_a_chain_relinked_without_the_key_breaks_where_the_rewrite_begins(trail):
    _append(trail, 10)
    _tamper(trail, "UPDATE audit_entries SET actor = 'someone-else' WHERE seq = 5")
    _rechain(trail, 5, audit.link, scheme=2)  # the plain sha256 link that needs no key, as an old entry
    result = _verify()
    assert result.exit_code == 1 and "BROKEN at entry 5" in result.output, result.output
    _rechain(trail, 5, lambda *parts: audit.keyed_link(os.urandom(32), *parts))  # a guessed key
    result = _verify()
    assert result.exit_code == 1 and "BROKEN at entry 5" in result.output, result.output


def test_verify_exits_1_on_a_broken_chain_and_69_when_the_database_cannot_be_reached(trail, monkeypatch):
    _append(trail, 4)
    _tamper(trail, "UPDATE audit_entries SET actor = 'someone-else' WHERE seq = 2")
    broken = _verify()
    assert broken.exit_code == 1 and "BROKEN at entry 2" in broken.output, broken.output
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    monkeypatch.setenv("EHR_GATEWAY_DATABASE_URL", f"postgresql://postgres@127.0.0.1:{closed}/ehr_gateway")
    unreachable = _verify()
    assert unreachable.exit_code == 69, unreachable.output
    assert "cannot connect to the gateway database" in unreachable.output and "BROKEN" not in unreachable.output
    assert "EHR_GATEWAY_DATABASE_URL" in unreachable.output


def test_verify_needs_the_key_for_keyed_entries_and_says_so(trail, monkeypatch):
    _append(trail, 3)
    monkeypatch.delenv("EHR_AUDIT_KEY")
    monkeypatch.setenv("EHR_STATE_DIR", "/nonexistent")
    monkeypatch.setattr("ehr.state.STATE_DIR", __import__("pathlib").Path("/nonexistent"))
    result = _verify()
    assert result.exit_code != 0 and "EHR_AUDIT_KEY" in result.output


def test_an_exported_head_shows_the_newest_entries_cut_off_with_the_head_moved_back(trail):
    _append(trail, 10)
    exported = CliRunner().invoke(ehr, ["audit", "head"]).output.strip()
    as_json = json.loads(CliRunner().invoke(ehr, ["audit", "head", "--json"]).output)
    assert exported == f"10:{as_json['hash']}" and as_json["seq"] == 10
    assert _verify("--head", exported).exit_code == 0
    with Session(trail) as session:
        seventh = session.get(audit.AuditEntry, 7)
    _tamper(trail, "DELETE FROM audit_entries WHERE seq > 7")
    _tamper(trail, f"UPDATE audit_head SET seq = 7, hash = '{seventh.hash}'")
    assert _verify().exit_code == 0  # the database alone cannot tell
    result = _verify("--head", exported)
    assert result.exit_code == 1 and "BROKEN at entry 8" in result.output and "exported head" in result.output
    assert _verify("--head", audit.log_safe(as_json["hash"]).join(["10:", ""])).exit_code == 1


def test_an_append_holds_the_head_for_one_round_trip_and_the_key_never_reaches_the_database(trail):
    statements = []
    sa.event.listen(trail, "before_cursor_execute", lambda *args: statements.append(args[2]))
    key = _key()
    with trail.connect().execution_options(isolation_level="AUTOCOMMIT") as conn, Session(bind=conn) as session:
        appended = audit.append(session, audit.Draft(action="archive.read", actor="doc01", status=200,
                                                     outcome="ok"), key)
    assert len(statements) == 2
    assert statements[0].startswith("BEGIN;") and "audit_reserve()" in statements[0]
    assert "audit_append(" in statements[1] and statements[1].endswith("; COMMIT")
    encoded = (key.hex(), __import__("base64").b64encode(key).decode())
    assert not any(form in statement for statement in statements for form in encoded)
    with Session(trail) as session:
        entry = session.get(audit.AuditEntry, appended.seq)
        fields = {name: getattr(entry, name) for name in audit._HASHED}
        assert session.scalar(sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' "
                                      "AND NOT granted")) == 0
    assert entry.scheme == audit.SCHEME == 3 and entry.prev_hash == "0" * 64
    assert audit.entry_hash(fields, key=key) == entry.hash == appended.hash


def test_a_failed_append_leaves_the_head_unlocked(trail):
    key = _key()
    with trail.connect().execution_options(isolation_level="AUTOCOMMIT") as conn, Session(bind=conn) as session:
        with pytest.raises(sa.exc.DBAPIError):
            audit.append(session, audit.Draft(action="x" * 100, status=200, outcome="ok"), key)  # too long
        assert conn.exec_driver_sql("SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() "
                                    "AND locktype = 'transactionid'").scalar() == 0
    _append(trail, 1)  # nobody waits on a lock left behind


def test_entries_written_before_the_keyed_chain_still_verify_and_still_show_edits(suite_env, run_id, monkeypatch):
    url = server_url(f"ehr_t{run_id}_gateway_audit_v1")
    drop_database(url)
    ensure_database(url)
    monkeypatch.setenv("EHR_GATEWAY_DATABASE_URL", url)
    engine = make_engine(url)
    try:
        command.upgrade(alembic_config(descriptor_of("gateway").migrations, url), "0001")
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
        command.upgrade(alembic_config(descriptor_of("gateway").migrations, url), "0002")
        with Session(engine) as session:  # as the server linked them from migration 0002 on
            for i in range(2):
                fields = {name: None for name in audit._CONTENT} | {
                    "request_id": f"r{i}", "actor": "doc01", "actor_kind": "user", "action": "archive.read",
                    "out_of_scope": False, "outcome": "ok", "status": 200}
                session.execute(sa.text("SELECT audit_append(:request_id, :actor, :actor_kind, NULL, NULL, "
                                        ":action, NULL, NULL, NULL, false, 'ok', 200, :digest)"),
                                {**fields, "digest": audit.content_digest(fields)})
                session.commit()
        upgrade(descriptor_of("gateway").migrations, url)
        _append(engine, 3)
        result = _verify()
        assert result.exit_code == 0 and "intact: 10 entries" in result.output, result.output
        _tamper(engine, "UPDATE audit_entries SET actor = 'someone-else' WHERE seq = 2")
        result = _verify()
        assert result.exit_code == 1 and "BROKEN at entry 2" in result.output
    finally:
        engine.dispose()
        drop_database(url)
