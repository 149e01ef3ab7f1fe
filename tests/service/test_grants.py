"""Break-the-glass grants: what a grant opens (reading and recording the care given, nothing of the
register), who may request a transfer (the sending side, also in the registry's own check), the
daily limit of grants, and how the archive's owners hear of a grant (the `access_granted` event and
`GET /api/v1/grants`). Real registry, records and gateway; each test works on its own archives and
users, since the databases are shared by the run."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from ehr.synthetic import Synthesizer
from shared.contracts.events import EventSchema
from shared.errors import InvalidTransition
from shared.transport.rpc import SignedClusterRpcClient
from tests.support.amqp import Listener
from tests.support.auth import bearer
from tests.support.db import audit_outcome, query

HOME_VILLAGE, HOME = "110105101101", "T1101051011"          # 孙河镇 上辛堡村: the grantee's side
OWNER_VILLAGE, OWNER = "110105201101", "T1101052011"        # 金盏乡 东窑村: the archive's owners
OWNER_CLINIC, COUNTY = "V1101052011", "G1101050001"
VISIT = {"occurred_on": "2026-11-20", "subjective": "胸闷", "assessment": "急性冠脉综合征待排",
         "plan": "转上级医院", "clinician": "王医生"}
REASON = "急诊：患者在本院就诊"
CONTRACTS_MD = Path(__file__).resolve().parents[2] / "docs" / "contracts.md"


@pytest.fixture(scope="module")
def synth():
    return Synthesizer()


@pytest.fixture(scope="module")
def owners(module_gateway, auth):
    return auth.session_for("township_doctor", OWNER)


def new_archive(base, owners, synth) -> str:
    resp = owners.post(base + "/api/v1/archives", json=synth.resident(OWNER_VILLAGE, OWNER).archive_request())
    assert resp.status_code == 201, resp.text
    return resp.json()["archive_no"]


def granted(base, session, archive_no: str, reason: str = REASON):
    resp = session.post(f"{base}/api/v1/archives/{archive_no}/access", json={"reason": reason})
    assert resp.status_code == 201, resp.text
    return resp


def audit_of(resp):
    """The request's outcome entry (a write has an `attempt` entry before it)."""
    return audit_outcome(resp.headers["X-Request-Id"])


def gateway_db(auth, sql: str, **params) -> None:
    with auth.engine.begin() as conn:
        conn.execute(sa.text(sql), params)


# -- what a grant opens -----------------------------------------------------------------------

def test_under_a_grant_a_clinician_reads_and_records_care_and_changes_nothing_else(module_gateway, auth, owners,
                                                                                  synth):
    base, doctor = module_gateway, auth.session_for("archive_manager", HOME)
    archive_no = new_archive(base, owners, synth)
    record = owners.post(f"{base}/api/v1/archives/{archive_no}/records", json={"record_type": "visit", "content": VISIT})
    assert record.status_code == 201
    record_id = record.json()["record_id"]
    granted(base, doctor, archive_no)
    archive = f"{base}/api/v1/archives/{archive_no}"

    assert doctor.get(archive).status_code == 200
    assert doctor.get(archive + "/records").status_code == 200
    assert doctor.post(archive + "/records", json={"record_type": "visit", "content": VISIT}).status_code == 201

    refused = {
        "identity": doctor.patch(archive, json={"phone": "13900000009", "reason": "核对"}),
        "termination": doctor.post(archive + "/termination", json={"reason": "loss_to_follow_up",
                                                                   "date": "2026-11-01", "note": "失访"}),
        "reactivation": doctor.post(archive + "/reactivation", json={"reason": "返回"}),
        "duplicates": doctor.get(archive + "/possible-duplicates"),
        "amend": doctor.post(f"{archive}/records/{record_id}/revisions",
                             json={"content": {**VISIT, "plan": "改"}, "reason": "补充"}),
        "in_error": doctor.post(f"{archive}/records/{record_id}/entered-in-error", json={"reason": "录错"}),
        "transfer": doctor.post(archive + "/transfers", json={"to_village_code": HOME_VILLAGE,
                                                              "to_institution_code": HOME, "reason": "迁居"}),
    }
    for what, resp in refused.items():
        assert resp.status_code == 403, (what, resp.text)
        assert resp.json()["error"]["code"] == "forbidden"
        entry = audit_of(resp)
        assert (entry.outcome, entry.status, entry.out_of_scope, entry.reason) == ("beyond_grant", 403, True, REASON)

    after = owners.get(archive).json()
    assert (after["archive_no"], after["status"], after["version"]) == (archive_no, "active", 1)
    assert owners.get(f"{archive}/records/{record_id}").json()["revisions"][-1]["revision"] == 1


def test_a_grant_cannot_be_turned_into_a_transfer_to_the_grantees_village(module_gateway, auth, owners, synth):
    """The attack of issue 11: grant yourself any archive, request its transfer to your own village
    and accept it yourself. The request is the sending side's, so it is refused."""
    base, attacker = module_gateway, auth.session_for("township_doctor", HOME)
    archive_no = new_archive(base, owners, synth)
    granted(base, attacker, archive_no)

    asked = attacker.post(f"{base}/api/v1/archives/{archive_no}/transfers",
                          json={"to_village_code": HOME_VILLAGE, "to_institution_code": HOME, "reason": "迁居"})
    assert asked.status_code == 403, asked.text
    incoming = attacker.get(f"{base}/api/v1/transfers?status=requested").json()
    assert archive_no not in {t["from_archive_no"] for t in incoming}
    archive = owners.get(f"{base}/api/v1/archives/{archive_no}").json()
    assert (archive["archive_no"], archive["village_code"], archive["institution_code"]) == (
        archive_no, OWNER_VILLAGE, OWNER)


def test_the_registry_takes_a_transfer_request_only_from_the_sending_side(module_gateway, suite_env, owners, synth):
    archive_no = new_archive(module_gateway, owners, synth)
    request = {"to_village_code": HOME_VILLAGE, "to_institution_code": HOME, "reason": "迁居"}

    def as_institution(code: str):
        return SignedClusterRpcClient(uri=suite_env.amqp_uri, timeout=20,
                                      context_data={"ehr.user": f"u-{code}", "ehr.institution": code})

    with as_institution(HOME) as outsider:
        with pytest.raises(InvalidTransition, match="only the sending side"):
            outsider.registry.request_transfer(archive_no, request)
    assert query("registry", "SELECT id FROM transfers WHERE archive_no = :a", a=archive_no) == []
    # the village's clinic (below the managing centre) and the county may ask for it
    for code in (OWNER_CLINIC, COUNTY):
        with as_institution(code) as sending:
            transfer = sending.registry.request_transfer(archive_no, request)
            assert transfer["requested_by_institution"] == code
            sending.registry.cancel_transfer(transfer["transfer_id"], "测试")


# -- the daily limit --------------------------------------------------------------------------

def test_grants_past_the_daily_limit_are_refused_with_429_and_audited(module_gateway, auth, owners, synth):
    base = module_gateway
    username = auth.user("village_doctor", "V1101051011")
    doctor = bearer(auth.token(username))
    archive_no = new_archive(base, owners, synth)
    gateway_db(auth, "INSERT INTO access_grants (actor, archive_no, reason, institution_code, granted_at, expires_at) "
                     "SELECT :a, :n, 'earlier', 'V1101051011', now() - interval '23 hours', now() "
                     "FROM generate_series(1, 20)", a=username, n=archive_no)

    refused = doctor.post(f"{base}/api/v1/archives/{archive_no}/access", json={"reason": REASON})
    assert refused.status_code == 429, refused.text
    error = refused.json()["error"]
    assert error["code"] == "too_many_grants" and error["details"] == {"limit": 20, "window_hours": 24}
    entry = audit_of(refused)
    assert (entry.action, entry.outcome, entry.status, entry.archive_no) == ("archive.access", "grant_limit", 429,
                                                                             archive_no)
    assert doctor.get(f"{base}/api/v1/archives/{archive_no}").status_code == 404
    assert query("gateway", "SELECT count(*) FROM access_grants WHERE actor = :a", a=username)[0][0] == 20

    gateway_db(auth, "UPDATE access_grants SET granted_at = now() - interval '25 hours' WHERE actor = :a",
               a=username)
    granted(base, doctor, archive_no)
    assert doctor.get(f"{base}/api/v1/archives/{archive_no}").status_code == 200


def test_grants_asked_at_once_do_not_slip_past_the_limit_together(module_gateway, auth, owners, synth):
    base = module_gateway
    username = auth.user("township_doctor", HOME)
    archives = [new_archive(base, owners, synth) for _ in range(4)]
    gateway_db(auth, "INSERT INTO access_grants (actor, archive_no, reason, institution_code, granted_at, expires_at) "
                     "SELECT :a, :n, 'earlier', :i, now() - interval '1 hour', now() FROM generate_series(1, 19)",
               a=username, n=archives[0], i=HOME)

    def ask(archive_no: str) -> int:
        return bearer(auth.token(username)).post(f"{base}/api/v1/archives/{archive_no}/access",
                                                 json={"reason": REASON}).status_code

    with ThreadPoolExecutor(len(archives)) as pool:
        statuses = sorted(pool.map(ask, archives))
    assert statuses == [201, 429, 429, 429]
    assert query("gateway", "SELECT count(*) FROM access_grants WHERE actor = :a", a=username)[0][0] == 20


# -- telling the owners -----------------------------------------------------------------------

def test_a_grant_is_announced_to_the_archives_owners_without_personal_data(module_gateway, suite_env, auth, owners,
                                                                           synth):
    base = module_gateway
    username = auth.user("township_doctor", HOME)
    doctor = bearer(auth.token(username))
    archive_no = new_archive(base, owners, synth)
    listener = Listener(suite_env.amqp_uri, "ehr.events", "gateway.access_granted")
    try:
        grant = granted(base, doctor, archive_no, reason="急诊 身份证 11010519491231002X 电话 13800000000").json()
        # an archive in one's own scope needs no grant and announces nothing
        home_archive = new_home_archive(base, auth, synth)
        own = doctor.post(f"{base}/api/v1/archives/{home_archive}/access", json={"reason": REASON})
        assert own.status_code == 200
        listener.wait(1)
        announced = [e for e in listener.settle(quiet=1.0)
                     if e["body"]["data"]["archive_no"] in (archive_no, home_archive)]
    finally:
        listener.close()
    [event] = announced

    body = EventSchema().load(event["body"])
    assert event["routing_key"] == "gateway.access_granted" and event["message_id"] == body["event_id"]
    assert (body["event_type"], body["service"]) == ("access_granted", "gateway")
    assert body["actor"] == {"user": username, "institution_code": HOME, "role": "township_doctor"}
    data = body["data"]
    assert set(data) == {"grant_id", "archive_no", "village_code", "institution_code", "reason", "granted_at",
                         "expires_at"}
    assert (data["archive_no"], data["village_code"], data["institution_code"]) == (archive_no, OWNER_VILLAGE, OWNER)
    assert data["expires_at"] == grant["expires_at"]
    assert "11010519491231002X" not in str(body) and "13800000000" not in str(body)
    assert data["reason"] == "急诊 身份证 **************002X 电话 138****0000"
    # docs/contracts.md shows this very shape
    documented = json.loads(re.search(r"```json\n(\{[^`]*\"access_granted\"[^`]*)```", CONTRACTS_MD.read_text(
        encoding="utf-8")).group(1))
    assert set(documented) == set(event["body"]) and set(documented["data"]) == set(data)
    assert set(documented["actor"]) == set(body["actor"])


def new_home_archive(base, auth, synth) -> str:
    resp = auth.session_for("township_doctor", HOME).post(
        base + "/api/v1/archives", json=synth.resident(HOME_VILLAGE, HOME).archive_request())
    assert resp.status_code == 201, resp.text
    return resp.json()["archive_no"]


def test_the_owning_sides_supervisors_list_the_grants_on_their_archives(module_gateway, auth, owners, synth):
    base = module_gateway
    username = auth.user("township_doctor", HOME)
    doctor = bearer(auth.token(username))
    first, second = new_archive(base, owners, synth), new_archive(base, owners, synth)
    granted(base, doctor, first)
    granted(base, doctor, second, reason="会诊")
    mine = {g.id: g for g in query("gateway", "SELECT * FROM access_grants WHERE actor = :a", a=username)}
    assert len(mine) == 2

    def listed(role: str, institution: str, **params) -> list[dict]:
        resp = auth.session_for(role, institution).get(base + "/api/v1/grants", params=params)
        assert resp.status_code == 200, resp.text
        return [g for g in resp.json()["items"] if g["grant_id"] in mine]

    for role, institution in (("supervisor", COUNTY), ("institution_admin", OWNER), ("archive_manager", OWNER),
                              ("archive_manager", OWNER_CLINIC)):
        items = listed(role, institution)
        assert [g["archive_no"] for g in items] == [second, first], (role, institution)   # newest first
    assert listed("institution_admin", HOME) == [] and listed("supervisor", "H1101050002") == []

    [item] = [g for g in listed("supervisor", COUNTY) if g["archive_no"] == second]
    row = mine[item["grant_id"]]
    assert item == {"grant_id": row.id, "archive_no": second, "village_code": OWNER_VILLAGE,
                    "institution_code": OWNER, "reason": "会诊",
                    "granted_to": {"user": username, "institution_code": HOME, "role": "township_doctor"},
                    "granted_at": row.granted_at.isoformat(), "expires_at": row.expires_at.isoformat()}
    since = max(g.granted_at for g in mine.values()).isoformat()
    assert [g["archive_no"] for g in listed("supervisor", COUNTY, since=since)] == [second]

    # paged: a page of one, then the next from its cursor
    reviewer = auth.session_for("institution_admin", OWNER)
    pages, cursor = [], None
    while len(pages) < 50:
        page = reviewer.get(base + "/api/v1/grants", params={"limit": 1, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200 and len(page.json()["items"]) <= 1
        pages += page.json()["items"]
        cursor = page.json()["next"]
        if cursor is None or {first, second} <= {g["archive_no"] for g in pages}:
            break
    assert [g["archive_no"] for g in pages if g["grant_id"] in mine] == [second, first]

    assert reviewer.get(base + "/api/v1/grants", params={"cursor": "bm90IG91cnM"}).status_code == 400
    assert reviewer.get(base + "/api/v1/grants", params={"since": "yesterday"}).json()["error"]["details"] == {
        "since": ["Not a date-time with a UTC offset."]}
    assert doctor.get(base + "/api/v1/grants").status_code == 403

