"""The administrator's lists for scripts: `--json` prints one JSON array of objects, from the
gateway's own use cases on its database (real PostgreSQL, this run's databases)."""

from __future__ import annotations

import getpass
import json
import uuid

from click.testing import CliRunner

from ehr.cli import main as ehr
from tests.support.auth import PASSWORD

TOWNSHIP = "T1101051011"


def _json(*command: str):
    result = CliRunner().invoke(ehr, list(command))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_users_keys_and_audit_entries_are_listed_as_json_arrays(suite_env):
    name = f"json-{uuid.uuid4().hex[:8]}"
    added = CliRunner().invoke(ehr, ["user", "add", name, "--institution", TOWNSHIP, "--role", "township_doctor",
                                     "--password-stdin"], input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    [user] = [u for u in _json("user", "list", "--json") if u["username"] == name]
    assert user == {"username": name, "role": "township_doctor", "institution_code": TOWNSHIP, "locked_until": None}

    made = CliRunner().invoke(ehr, ["apikey", "add", name, "--institution", TOWNSHIP, "--role", "township_system"])
    assert made.exit_code == 0, made.output
    keys = _json("apikey", "list", "--json")
    [key] = [k for k in keys if k["name"] == name]
    assert (key["role"], key["institution_code"], key["revoked_at"]) == ("township_system", TOWNSHIP, None)
    assert key["created_at"].startswith("20") and made.stdout.strip() not in json.dumps(keys)

    entries = _json("audit", "user", f"cli:{getpass.getuser()}", "--limit", "500", "--json")
    assert [e["outcome"] for e in entries if e["target"] == f"user:{name}"] == ["ok", "attempt"]  # newest first
    assert _json("audit", "archive", "11010599999999999", "--json") == []
