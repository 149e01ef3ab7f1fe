"""`ehr quarantine ...` (records') and `ehr referrals quarantine ...` are one set of commands
(`ehr.operate.add_quarantine_commands`), each calling its own service's quarantine RPCs."""

from __future__ import annotations

import json
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

import ehr.operate
from ehr.cli import main


class Service:
    def __init__(self, name, calls):
        self.name, self.calls = name, calls

    def list_quarantine(self, **kwargs):
        self.calls.append((self.name, "list", kwargs))
        return {"items": [{"id": 3, "received_at": "2026-12-05T01:00:00Z", "reason": "not_json", "status": "held",
                           "routing_key": "k", "message_id": "m", "user_id": "u"}]}

    def show_quarantined(self, quarantine_id):
        self.calls.append((self.name, "show", quarantine_id))
        return {"id": quarantine_id}

    def replay_quarantined(self, quarantine_id, corrected=None):
        self.calls.append((self.name, "replay", quarantine_id, corrected))
        return {"id": quarantine_id, "status": "replayed"}

    def discard_quarantined(self, quarantine_id, note):
        self.calls.append((self.name, "discard", quarantine_id, note))
        return {"id": quarantine_id, "status": "discarded"}


@pytest.fixture
def calls(monkeypatch):
    made = []

    @contextmanager
    def fake_rpc():
        yield SimpleNamespace(records=Service("records", made), referrals=Service("referrals", made))

    monkeypatch.setattr(ehr.operate, "suite_rpc", fake_rpc)
    return made


@pytest.mark.parametrize("prefix, service", [(["quarantine"], "records"), (["referrals", "quarantine"], "referrals")])
def test_each_command_calls_its_own_services_quarantine(calls, prefix, service, tmp_path):
    runner = CliRunner()
    listed = runner.invoke(main, [*prefix, "list", "--reason", "not_json", "--all", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.stdout)[0]["id"] == 3
    table = runner.invoke(main, [*prefix, "list"])
    assert table.exit_code == 0 and ("user_id" in table.stdout) == (service == "referrals")
    corrected = tmp_path / "body.json"
    corrected.write_text('{"schema": "x"}')
    for args in (["show", "3"], ["replay", "3"], ["replay", "3", "--body", str(corrected)],
                 ["discard", "3", "--note", "测试消息"]):
        assert runner.invoke(main, [*prefix, *args]).exit_code == 0, args
    assert runner.invoke(main, [*prefix, "discard", "3"]).exit_code == 2  # the note is required
    assert calls == [
        (service, "list", {"status": None, "reason": "not_json", "limit": 50}),
        (service, "list", {"status": "held", "reason": None, "limit": 50}),
        (service, "show", 3), (service, "replay", 3, None), (service, "replay", 3, {"schema": "x"}),
        (service, "discard", 3, "测试消息")]
