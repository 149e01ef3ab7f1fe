"""`ehr import settlements FILE`: the insurer's settlements from a file, published to
`ehr.insurance` one message per row, as the insurer's system would (the records service files
them: the same contract, idempotency, quarantine and pending rules as over AMQP).

Two formats, told apart by the file's name (`.jsonl`, `.ndjson`: JSON lines; anything else CSV):

- JSON lines: one whole `ehr.settlement/1` body per line;
- CSV (UTF-8, a header row) with the columns of `CSV_COLUMNS`; the insurer is named on the
  command line (`--insurer`). `diagnoses` is `code name; code name` (`I10 原发性高血压; E11.9 2型糖尿病`),
  `fees` is `category=amount; ...` (`西药费=216.80; 检查费=140.00`); empty cells are null.

Every row is checked against the contract first (`load_settlement`); a refused row is not
published and is listed with its line and field errors (never its values). Each published row
has a stable `message_id`, derived from the insurer, the settlement number and its revision
(`message_id_for`): importing the same file twice files nothing twice, and a corrected row goes
in with a higher `revision`.

    rows = read_settlements(Path("settlements.csv"), insurer="Y1101050001")  -> [(2, body), ...]
    checked = check(rows)     -> ([(2, body, settlement)], [{"line": 3, "reason": "schema_invalid", "errors": {...}}])
"""

from __future__ import annotations

import csv
import hashlib
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from shared.contracts.settlement import SCHEMA_NAME, InvalidSettlement, Settlement, load_settlement

CSV_COLUMNS = ("settlement_no", "revision", "id_type", "id_number", "insurance_card_no", "name", "sex", "birth_date",
               "type", "institution_code", "visit_date", "discharge_date", "insurance_type", "diagnoses", "total",
               "fund_paid", "personal_account", "out_of_pocket", "other_paid", "fees", "settled_at")
REQUIRED_COLUMNS = ("settlement_no", "type", "institution_code", "visit_date", "insurance_type", "total", "fund_paid",
                    "personal_account", "out_of_pocket", "settled_at")
JSON_LINES = (".jsonl", ".ndjson")


def message_id_for(settlement: Settlement) -> str:
    """The same settlement revision always gets the same message id (the suite's idempotency key)."""
    digest = hashlib.sha256(f"{settlement.insurer_code}|{settlement.settlement_no}|{settlement.revision}".encode())
    return f"settlement-import-{digest.hexdigest()[:40]}"


def _amount(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return float(Decimal(value))
    except InvalidOperation:
        return value  # the contract names the field


def _pairs(cell: str | None, sep: str) -> list[tuple[str, str | None]]:
    out = []
    for part in (cell or "").split(";"):
        part = part.strip()
        if part:
            first, _, rest = part.partition(sep)
            out.append((first.strip(), rest.strip() or None))
    return out


def body_of_row(row: dict[str, str | None], insurer: str) -> dict[str, Any]:
    """The `ehr.settlement/1` body of one CSV row."""
    revision = row.get("revision")
    return {
        "schema": SCHEMA_NAME,
        "source": {"insurer_code": insurer, "system": "import", "settlement_no": row.get("settlement_no"),
                   "revision": int(revision) if revision and revision.isdigit() else revision},
        "insured": {"id_type": row.get("id_type") or "01", "id_number": row.get("id_number"),
                    "insurance_card_no": row.get("insurance_card_no"), "name": row.get("name"),
                    "sex": row.get("sex"), "birth_date": row.get("birth_date")},
        "settlement": {
            "type": row.get("type"), "institution_code": row.get("institution_code"),
            "visit_date": row.get("visit_date"), "discharge_date": row.get("discharge_date"),
            "insurance_type": row.get("insurance_type"),
            "diagnoses": [{"system": "ICD-10", "code": code, "name": name} for code, name in _pairs(row.get("diagnoses"), " ")],
            "amounts": {name: _amount(row.get(name)) for name in
                        ("total", "fund_paid", "personal_account", "out_of_pocket", "other_paid")}
            | {"by_category": [{"category": c, "amount": _amount(a)} for c, a in _pairs(row.get("fees"), "=")]},
            "settled_at": row.get("settled_at"),
        },
    }


def read_settlements(path: Path, insurer: str | None) -> list[tuple[int, Any]]:
    """(line, body) of every row; ValueError naming what is wrong with the file as a whole."""
    if path.suffix.lower() in JSON_LINES:
        rows = []
        with path.open(encoding="utf-8-sig") as f:
            for line, text in enumerate(f, start=1):
                if not text.strip():
                    continue
                try:
                    body = json.loads(text)
                except ValueError:
                    body = text  # refused by the contract check, named by its line
                if insurer and isinstance(body, dict) and (body.get("source") or {}).get("insurer_code") != insurer:
                    body = {**body, "_insurer_mismatch": True}
                rows.append((line, body))
        return rows
    if not insurer:
        raise ValueError("a CSV file needs --insurer CODE (the insurer's institution code)")
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path.name}: the header lacks {', '.join(missing)}")
        return [(reader.line_num, body_of_row({c: (row.get(c) or "").strip() or None for c in CSV_COLUMNS}, insurer))
                for row in reader]


def check(rows: list[tuple[int, Any]]) -> tuple[list[tuple[int, dict, Settlement]], list[dict]]:
    """The rows the contract accepts (line, body, settlement) and those it refuses, with reasons."""
    good, refused = [], []
    for line, body in rows:
        if not isinstance(body, dict):
            refused.append({"line": line, "reason": "not_json", "errors": {"_body": ["Not a JSON object."]}})
            continue
        if body.pop("_insurer_mismatch", False):
            refused.append({"line": line, "reason": "schema_invalid",
                            "errors": {"source": {"insurer_code": ["Must be the --insurer given."]}}})
            continue
        try:
            good.append((line, body, load_settlement(body)))
        except InvalidSettlement as exc:
            refused.append({"line": line, "reason": exc.reason, "errors": exc.errors})
    return good, refused


def publish(amqp_uri: str, settlements: list[tuple[int, dict, Settlement]]) -> int:
    """Publish each to `ehr.insurance` with publisher confirms, as the suite's own account (which
    the records service trusts to publish for any insurer); returns how many."""
    from kombu import Connection, Producer

    from shared.messaging import INSURANCE, account_of
    from shared.transport.topology import declare_topology

    declare_topology(amqp_uri)  # so that nothing published before records first starts is lost
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.default_channel)
        for _, body, settlement in settlements:
            producer.publish(
                json.dumps(body, ensure_ascii=False).encode(), exchange=INSURANCE,
                routing_key=f"settlement.{settlement.institution_code}.{settlement.type}",
                content_type="application/json", content_encoding="utf-8", delivery_mode=2,
                message_id=message_id_for(settlement), user_id=account_of(amqp_uri))
    return len(settlements)
