"""The API keys of a demo run end with it (`ehr demo`, `ehr up --demo`)."""

from __future__ import annotations

from ehr.access import create_demo_keys, revoke_demo_keys
from tests.support.auth import bearer
from tests.support.db import query


def test_demo_keys_work_during_the_demo_and_are_refused_once_revoked(module_gateway):
    keys = create_demo_keys(echo=lambda *_: None)
    assert keys, "the demo county has township centres"
    code, key = next(iter(keys.items()))
    assert bearer(key).get(module_gateway + "/api/v1/villages").status_code == 200

    revoke_demo_keys(keys, echo=lambda *_: None)
    assert bearer(key).get(module_gateway + "/api/v1/villages").status_code == 401
    live = query("gateway", "SELECT name FROM api_keys WHERE name LIKE 'demo-%' AND revoked_at IS NULL")
    assert live == []
    revoked = query("gateway", "SELECT target FROM audit_entries WHERE action = 'admin.apikey_revoke'")
    assert f"apikey:demo-{code}" in {r.target for r in revoked}
