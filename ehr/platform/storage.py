"""What the fake platform keeps, in one SQLite file (`platform.sqlite3` in its data directory), so
that a restart keeps everything it acknowledged.

- `accepted`: every accepted document, once (document_id unique), with the platform's id, what
  it says about itself and its body; `seq` orders them for the reconciliation list's cursor.
  Rows are only ever inserted, and a withdrawn one marked (`withdrawn_at`, `withdrawn_reason`:
  DELETE /api/documents/{id}), never deleted.
- `rejected`: the last refusal (400 or 422) of a document not accepted since, for
  GET /api/documents/{id}, with what the document said of itself when it could be read (set,
  version, type): a rejected document may be replaced by a corrected version.

One connection behind a lock: the server holds `Store.lock` from its ordering checks to the
insert, so two requests never both accept the same document.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path

FILE_NAME = "platform.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accepted (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id TEXT NOT NULL UNIQUE,
    platform_id TEXT NOT NULL UNIQUE,
    format TEXT NOT NULL,
    document_type TEXT NOT NULL,
    set_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    archive_no TEXT NOT NULL,
    custodian TEXT NOT NULL,
    replaces TEXT,
    received_at TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS accepted_archive ON accepted (archive_no, document_type);
CREATE INDEX IF NOT EXISTS accepted_custodian ON accepted (custodian, seq);
CREATE INDEX IF NOT EXISTS accepted_type ON accepted (document_type, seq);
CREATE INDEX IF NOT EXISTS accepted_set ON accepted (set_id);
CREATE TABLE IF NOT EXISTS rejected (
    document_id TEXT PRIMARY KEY,
    status INTEGER NOT NULL,
    reasons TEXT NOT NULL,
    received_at TEXT NOT NULL,
    set_id TEXT,
    version INTEGER,
    document_type TEXT
);
"""

_FIELDS = ("document_id", "set_id", "version", "document_type", "archive_no", "custodian",
           "platform_id", "received_at")
_ACCEPTED = ("seq", "document_id", "platform_id", "format", "document_type", "set_id", "version", "archive_no",
             "custodian", "replaces", "received_at", "withdrawn_at", "withdrawn_reason")
# Columns added since the first fake: a data directory of an earlier one gets them on opening.
_ADDED = {"rejected": (("set_id", "TEXT"), ("version", "INTEGER"), ("document_type", "TEXT")),
          "accepted": (("withdrawn_at", "TEXT"), ("withdrawn_reason", "TEXT"))}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Store:
    def __init__(self, directory: Path | str) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / FILE_NAME
        self.lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        for table, added in _ADDED.items():
            columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            for name, kind in added:
                if name not in columns:  # a data directory of an earlier fake
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    def close(self) -> None:
        with self.lock:
            self._db.close()

    def accepted(self, document_id: str) -> dict | None:
        with self.lock:
            row = self._db.execute(f"SELECT {', '.join(_ACCEPTED)} FROM accepted WHERE document_id = ?",
                                   (document_id,)).fetchone()
        return dict(row) if row else None

    def withdraw(self, document_id: str, reason: str) -> dict | None:
        """Mark the accepted document withdrawn (once: a repeat keeps the first time and reason);
        its row, or None when it was never accepted."""
        with self.lock:
            self._db.execute("UPDATE accepted SET withdrawn_at = ?, withdrawn_reason = ? "
                             "WHERE document_id = ? AND withdrawn_at IS NULL", (now(), reason, document_id))
            return self.accepted(document_id)

    def set_withdrawn(self, set_id: str) -> bool:
        """Whether a version of the set was withdrawn (no later version is accepted then)."""
        with self.lock:
            return self._db.execute("SELECT 1 FROM accepted WHERE set_id = ? AND withdrawn_at IS NOT NULL LIMIT 1",
                                    (set_id,)).fetchone() is not None

    def rejection(self, document_id: str) -> dict | None:
        with self.lock:
            row = self._db.execute("SELECT status, reasons, received_at, set_id, version, document_type "
                                   "FROM rejected WHERE document_id = ?", (document_id,)).fetchone()
        if row is None:
            return None
        return {"document_id": document_id, "status": row["status"], "reasons": json.loads(row["reasons"]),
                "received_at": row["received_at"], "set_id": row["set_id"], "version": row["version"],
                "document_type": row["document_type"]}

    def body(self, document_id: str) -> bytes | None:
        with self.lock:
            row = self._db.execute("SELECT body FROM accepted WHERE document_id = ?", (document_id,)).fetchone()
        return bytes(row["body"]) if row else None

    def registered(self, archive_no: str) -> bool:
        """Whether a registration (HSDA00.01) of this archive was accepted."""
        with self.lock:
            return self._db.execute(
                "SELECT 1 FROM accepted WHERE archive_no = ? AND document_type = 'HSDA00.01' LIMIT 1",
                (archive_no,)).fetchone() is not None

    def accept(self, *, document_id: str, format: str, document_type: str, set_id: str, version: int,
               archive_no: str, custodian: str, replaces: str | None, body: bytes) -> dict:
        """Insert the accepted document and forget its refusal, in one transaction (committed to
        the WAL when this returns: a process killed afterwards still has it); the row (an existing
        one when it was accepted already)."""
        row = {"document_id": document_id, "platform_id": f"RHIP-{uuid.uuid4().hex[:20].upper()}",
               "format": format, "document_type": document_type, "set_id": set_id, "version": version,
               "archive_no": archive_no, "custodian": custodian, "replaces": replaces, "received_at": now()}
        with self.lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row["seq"] = self._db.execute(
                    "INSERT INTO accepted (document_id, platform_id, format, document_type, set_id, version, "
                    "archive_no, custodian, replaces, received_at, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*row.values(), body)).lastrowid
                row.update(withdrawn_at=None, withdrawn_reason=None)
                self._db.execute("DELETE FROM rejected WHERE document_id = ?", (document_id,))
            except sqlite3.IntegrityError:
                self._db.execute("ROLLBACK")
                return self.accepted(document_id)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return row

    def reject(self, document_id: str, status: int, reasons: list[dict], *, set_id: str | None = None,
               version: int | None = None, document_type: str | None = None) -> None:
        with self.lock:
            self._db.execute(
                "INSERT INTO rejected (document_id, status, reasons, received_at, set_id, version, document_type) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (document_id) DO UPDATE SET status = excluded.status, reasons = excluded.reasons, "
                "received_at = excluded.received_at, set_id = excluded.set_id, version = excluded.version, "
                "document_type = excluded.document_type",
                (document_id, status, json.dumps(reasons, ensure_ascii=False), now(), set_id, version, document_type))

    def list_accepted(self, *, custodian: str | None = None, document_type: str | None = None,
                      after: int = 0, limit: int = 500) -> tuple[list[dict], int | None]:
        """Accepted documents after the cursor `after` (a seq), oldest first, each with its `status`
        (`accepted`, or `withdrawn` with `withdrawn_at`); the items and the cursor of the next page
        (None on the last page)."""
        where, args = ["seq > ?"], [after]
        if custodian:
            where.append("custodian = ?")
            args.append(custodian)
        if document_type:
            where.append("document_type = ?")
            args.append(document_type)
        with self.lock:
            rows = self._db.execute(
                f"SELECT seq, {', '.join(_FIELDS)}, withdrawn_at FROM accepted WHERE {' AND '.join(where)} "
                "ORDER BY seq LIMIT ?", (*args, limit + 1)).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        items = [{**{name: row[name] for name in _FIELDS}, "status": "withdrawn" if row["withdrawn_at"] else "accepted",
                  "withdrawn_at": row["withdrawn_at"]} for row in rows]
        return items, (rows[-1]["seq"] if more else None)

    def count(self) -> int:
        with self.lock:
            return self._db.execute("SELECT count(*) FROM accepted").fetchone()[0]
