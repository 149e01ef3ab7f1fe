"""The access matrix: every endpoint × every role (and no credentials) × an archive in and out of
the caller's scope, and out of it under a grant the caller holds, with the status each answers and
the audit entry each leaves.

Every caller works at an institution whose jurisdiction holds the IN archive (village
110105101101 of 孙河镇, township 110105101) and not the OUT one (东窑村 of 金盏乡, township
110105201); the county-level roles (supervisor, system operator at the health commission) have
both in their county but no archive access at all. The expected answers are written out here,
not derived from `access.py`, so that this file is the specification the code is held to.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable

import pytest
import requests

from ehr.synthetic import Synthesizer
from shared import clock
from tests.support.auth import bearer
from tests.support.db import audit_outcome, query

IN_VILLAGE, IN_MANAGER = "110105101101", "T1101051011"
OUT_VILLAGE, OUT_MANAGER = "110105201101", "T1101052011"

# role -> the institution its caller works at
CALLERS = {
    "village_doctor": "V1101051011",
    "township_doctor": IN_MANAGER,
    "archive_manager": IN_MANAGER,
    "institution_admin": IN_MANAGER,
    "supervisor": "G1101050001",
    "system_operator": "G1101050001",
    "township_system": IN_MANAGER,
    "hospital_system": "H1101050002",
}
ANONYMOUS = "anonymous"

CLINICIANS = {"village_doctor", "township_doctor", "archive_manager"}
READERS = CLINICIANS | {"township_system"}
# the township centre's own system files its doctors' form records (follow-ups) and runs their
# programme work (enrolment, work list, suggestions); no attachments, grants or figures
RECORD_WRITERS = CLINICIANS | {"township_system"}
PROGRAMME_WORKERS = CLINICIANS | {"township_system"}
# referrals: clinicians and the township's system refer and ask for consultations; both sides (a
# hospital's system too) read theirs and answer what is addressed to them
REFERRERS = CLINICIANS | {"township_system"}
REFERRAL_SIDES = CLINICIANS | {"township_system", "hospital_system"}
REFERRAL_BODY = {"to_institution_code": "H1101050002", "reason": {"impression": "高血压3级，血压控制不佳"}}
BACK_BODY = {"diagnosis": "原发性高血压", "treatment": "调整用药", "plan": "两周后社区随访"}
KEEPERS = {"township_doctor", "archive_manager"}   # terminate, transfer, review duplicates
MERGERS = {"archive_manager"}
EVERYONE = set(CALLERS)
ADMINISTRATIVE = {"institution_admin", "supervisor"}
GRANT_REVIEWERS = {"supervisor", "institution_admin", "archive_manager"}
# Under a grant (scope "granted": the OUT archive, with an unexpired grant the caller holds), these
# open; every other action on the archive answers 403 to the grant's holder (it knows the archive).
GRANT_OPENS = {"archive.read", "archive.summary", "records.list", "record.read", "record.create",
               "archive.revisions", "transfers.list", "merges.list", "archive.access", "attachments.list",
               "attachment.read"}
PEOPLE = EVERYONE - {"township_system", "hospital_system"}

VISIT = {"occurred_on": "2026-11-20", "subjective": "头晕两天", "assessment": "原发性高血压",
         "plan": "氨氯地平 5mg qd", "clinician": "李医生"}
SCAN = {"attachment_type": "paper_scan", "content": base64.b64encode(b"%PDF-1.7\n%%EOF\n").decode(),
        "filename": "个人基本信息表.pdf", "document_date": "2026-11-20"}


@dataclass(frozen=True)
class Endpoint:
    action: str
    method: str
    path: str                      # {archive_no}, {record_id} filled in per case
    allowed: frozenset[str]        # roles the matrix permits
    ok: int                        # status when permitted and in scope
    scoped: bool = True            # names an archive (IN or OUT) in its path or body
    out_ok: int | None = None      # status out of scope when permitted (default 404, hidden)
    body: Callable[["World", str], dict] | None = None
    needs_record: bool = False     # a fresh form record in the archive, as the path's record_id
    prepare: Callable[["World", str], dict] | None = None   # fresh things the case works on (below)


def _resident(world: "World", scope: str) -> dict:
    village, manager = (IN_VILLAGE, IN_MANAGER) if scope == "in" else (OUT_VILLAGE, OUT_MANAGER)
    return world.synth.resident(village, manager).archive_request()


ENDPOINTS = [
    Endpoint("archive.create", "POST", "/api/v1/archives", frozenset(READERS), 201, out_ok=403, body=_resident),
    Endpoint("archive.read", "GET", "/api/v1/archives/{archive_no}", frozenset(READERS), 200),
    Endpoint("archive.summary", "GET", "/api/v1/archives/{archive_no}/summary", frozenset(READERS), 200),
    Endpoint("records.list", "GET", "/api/v1/archives/{archive_no}/records", frozenset(READERS), 200),
    Endpoint("record.read", "GET", "/api/v1/archives/{archive_no}/records/{record_id}", frozenset(READERS), 200,
             needs_record=True),
    Endpoint("record.create", "POST", "/api/v1/archives/{archive_no}/records", frozenset(RECORD_WRITERS), 201,
             body=lambda w, s: {"record_type": "visit", "content": VISIT}),
    Endpoint("record.amend", "POST", "/api/v1/archives/{archive_no}/records/{record_id}/revisions",
             frozenset(RECORD_WRITERS), 201, needs_record=True,
             body=lambda w, s: {"content": {**VISIT, "plan": "复诊"}, "reason": "补充计划"}),
    Endpoint("record.entered_in_error", "POST", "/api/v1/archives/{archive_no}/records/{record_id}/entered-in-error",
             frozenset(RECORD_WRITERS), 200, needs_record=True, body=lambda w, s: {"reason": "录错档案"}),
    Endpoint("attachment.add", "POST", "/api/v1/archives/{archive_no}/attachments", frozenset(CLINICIANS), 201,
             body=lambda w, s: SCAN),
    Endpoint("attachments.list", "GET", "/api/v1/archives/{archive_no}/attachments", frozenset(READERS), 200),
    Endpoint("attachment.read", "GET", "/api/v1/archives/{archive_no}/attachments/{attachment_id}",
             frozenset(READERS), 200, prepare=lambda w, s: w.attachment(s)),
    Endpoint("attachment.entered_in_error", "POST",
             "/api/v1/archives/{archive_no}/attachments/{attachment_id}/entered-in-error", frozenset(CLINICIANS),
             200, prepare=lambda w, s: w.attachment(s), body=lambda w, s: {"reason": "扫描了别人的档案"}),
    Endpoint("archive.export", "GET", "/api/v1/archives/{archive_no}/export", frozenset(CLINICIANS), 200),
    Endpoint("archive.retention", "GET", "/api/v1/archives/{archive_no}/retention", frozenset(KEEPERS), 200),
    Endpoint("archive.access", "POST", "/api/v1/archives/{archive_no}/access", frozenset(CLINICIANS), 200,
             out_ok=201, body=lambda w, s: {"reason": "患者来本院就诊"}),
    # the 居民健康档案信息卡: clinicians issue it (a reason always given, so a reissue is accepted too)
    # and read it (the phone in full, for printing); a grant opens neither
    Endpoint("card.issue", "POST", "/api/v1/archives/{archive_no}/cards", frozenset(CLINICIANS), 201,
             body=lambda w, s: {"reason": "卡片遗失"}),
    Endpoint("card.read", "GET", "/api/v1/archives/{archive_no}/card", frozenset(CLINICIANS), 200),
    # signing oneself out everywhere: people only (an API key is revoked by `ehr apikey revoke`)
    Endpoint("auth.revoke", "POST", "/api/v1/auth/revoke", frozenset(PEOPLE), 200, scoped=False),
    Endpoint("reference.villages", "GET", "/api/v1/villages", frozenset(EVERYONE), 200, scoped=False),
    Endpoint("reference.institutions", "GET", "/api/v1/institutions", frozenset(EVERYONE), 200, scoped=False),
    Endpoint("stats.read", "GET", "/api/v1/stats", frozenset(CLINICIANS | ADMINISTRATIVE), 200, scoped=False),
    # the work indicators (考核指标): those who supervise, not the clinicians whose work they measure
    Endpoint("indicators.read", "GET", "/api/v1/indicators", frozenset(ADMINISTRATIVE), 200, scoped=False),
    Endpoint("quarantine.list", "GET", "/api/v1/quarantine", frozenset({"system_operator"}), 200, scoped=False),
    Endpoint("quarantine.show", "GET", "/api/v1/quarantine/999999999", frozenset({"system_operator"}), 404,
             scoped=False),
    Endpoint("quarantine.replay", "POST", "/api/v1/quarantine/999999999/replay", frozenset({"system_operator"}),
             404, scoped=False, body=lambda w, s: {}),
    Endpoint("quarantine.discard", "POST", "/api/v1/quarantine/999999999/discard", frozenset({"system_operator"}),
             404, scoped=False, body=lambda w, s: {"note": "test"}),
    Endpoint("grants.list", "GET", "/api/v1/grants", frozenset(GRANT_REVIEWERS), 200, scoped=False),
    Endpoint("pending.list", "GET", "/api/v1/pending", frozenset({"system_operator"}), 200, scoped=False),
    Endpoint("pending.propose", "POST", "/api/v1/pending/999999999/proposal", frozenset({"system_operator"}), 404,
             scoped=False, body=lambda w, s: {"archive_no": w.archives["in"]}),
    Endpoint("pending.proposals", "GET", "/api/v1/pending/proposals", frozenset(KEEPERS), 200, scoped=False),
    # linking files the encounter and teaches the registry an MRN: a keeper with the archive in scope
    Endpoint("pending.link", "POST", "/api/v1/pending/999999999/link", frozenset(KEEPERS), 404,
             body=lambda w, s: {"archive_no": w.archives[s]}),
    Endpoint("reviews.list", "GET", "/api/v1/reviews", frozenset(CLINICIANS | {"system_operator"}), 200,
             scoped=False),
    # a form record is not flagged: clearing it is refused (422); out of scope it is hidden
    Endpoint("record.review", "POST", "/api/v1/archives/{archive_no}/records/{record_id}/review",
             frozenset(KEEPERS), 422, needs_record=True, body=lambda w, s: {}),
    # the archive lifecycle
    Endpoint("archive.search", "POST", "/api/v1/archives/search", frozenset(READERS), 200, scoped=False,
             body=lambda w, s: {"archive_no": IN_VILLAGE, "limit": 5}),
    Endpoint("archive.update", "PATCH", "/api/v1/archives/{archive_no}", frozenset(READERS), 200,
             body=lambda w, s: {"phone": "13900000001", "reason": "核对联系电话"}),
    # attaching the ID number of an archive created without one: these archives have theirs (422)
    Endpoint("archive.id_number", "POST", "/api/v1/archives/{archive_no}/id-number", frozenset(READERS), 422,
             body=lambda w, s: {"id_type": "01", "id_number": "11010519491231002X"}),
    Endpoint("archive.revisions", "GET", "/api/v1/archives/{archive_no}/revisions", frozenset(READERS), 200),
    Endpoint("archive.terminate", "POST", "/api/v1/archives/{archive_no}/termination", frozenset(KEEPERS), 200,
             prepare=lambda w, s: {"archive_no": w.new_archive(s)},
             body=lambda w, s: {"reason": "loss_to_follow_up", "date": "2026-11-01", "note": "外出务工失访"}),
    Endpoint("archive.reactivate", "POST", "/api/v1/archives/{archive_no}/reactivation", frozenset(KEEPERS), 200,
             prepare=lambda w, s: {"archive_no": w.terminated_archive(s)}, body=lambda w, s: {"reason": "居民返回"}),
    Endpoint("archive.duplicates", "GET", "/api/v1/archives/{archive_no}/possible-duplicates",
             frozenset(KEEPERS), 200),
    Endpoint("transfer.request", "POST", "/api/v1/archives/{archive_no}/transfers", frozenset(KEEPERS), 201,
             prepare=lambda w, s: {"archive_no": w.new_archive(s)},
             body=lambda w, s: {"to_village_code": NEIGHBOUR[s], "to_institution_code": MANAGER[s],
                                "reason": "迁居"}),
    Endpoint("transfers.list", "GET", "/api/v1/archives/{archive_no}/transfers", frozenset(READERS), 200),
    Endpoint("transfers.incoming", "GET", "/api/v1/transfers?status=requested", frozenset(KEEPERS), 200,
             scoped=False),
    # a transfer by id: "in" is one the caller is the right side of, "out" one between two villages
    # of the other township
    Endpoint("transfer.read", "GET", "/api/v1/transfers/{transfer_id}", frozenset(KEEPERS), 200,
             prepare=lambda w, s: w.transfer(s, towards_caller=False)),
    Endpoint("transfer.accept", "POST", "/api/v1/transfers/{transfer_id}/accept", frozenset(KEEPERS), 200,
             prepare=lambda w, s: w.transfer(s, towards_caller=True)),
    Endpoint("transfer.reject", "POST", "/api/v1/transfers/{transfer_id}/reject", frozenset(KEEPERS), 200,
             prepare=lambda w, s: w.transfer(s, towards_caller=True), body=lambda w, s: {"reason": "本村无此居民"}),
    Endpoint("transfer.cancel", "POST", "/api/v1/transfers/{transfer_id}/cancel", frozenset(KEEPERS), 200,
             prepare=lambda w, s: w.transfer(s, towards_caller=False), body=lambda w, s: {"reason": "申请有误"}),
    Endpoint("merges.list", "GET", "/api/v1/archives/{archive_no}/merges", frozenset(READERS), 200),
    Endpoint("archive.merge", "POST", "/api/v1/merges", frozenset(MERGERS), 201,
             prepare=lambda w, s: {"pair": (w.new_archive(s), w.new_archive(s))},
             body=lambda w, s: {"surviving_archive_no": w.prepared["pair"][0],
                                "merged_archive_no": w.prepared["pair"][1], "reason": "同一居民重复建档"}),
    Endpoint("merge.read", "GET", "/api/v1/merges/{merge_id}", frozenset(KEEPERS), 200,
             prepare=lambda w, s: w.merge(s)),
    Endpoint("archive.unmerge", "POST", "/api/v1/merges/{merge_id}/unmerge", frozenset(MERGERS), 200,
             prepare=lambda w, s: w.merge(s), body=lambda w, s: {"reason": "并非同一人"}),
    # the key-population programmes (the programmes service): elderly residents, enrolled as each case needs
    Endpoint("programmes.read", "GET", "/api/v1/archives/{archive_no}/programmes", frozenset(PROGRAMME_WORKERS), 200),
    Endpoint("programme.enrol", "POST", "/api/v1/archives/{archive_no}/programmes", frozenset(PROGRAMME_WORKERS),
             201, prepare=lambda w, s: {"archive_no": w.elder(s)}, body=lambda w, s: {"programme": "elderly"}),
    Endpoint("programme.end", "POST", "/api/v1/archives/{archive_no}/programmes/elderly/end",
             frozenset(PROGRAMME_WORKERS), 200, prepare=lambda w, s: {"archive_no": w.elder(s, enrolled=True)},
             body=lambda w, s: {"reason": "migration_out", "date": clock.today().isoformat()}),
    Endpoint("programme.resume", "POST", "/api/v1/archives/{archive_no}/programmes/elderly/resume",
             frozenset(PROGRAMME_WORKERS), 200,
             prepare=lambda w, s: {"archive_no": w.elder(s, enrolled=True, ended=True)}),
    Endpoint("worklist.read", "GET", "/api/v1/worklist", frozenset(PROGRAMME_WORKERS), 200, scoped=False),
    Endpoint("programme_suggestions.list", "GET", "/api/v1/programme-suggestions", frozenset(PROGRAMME_WORKERS), 200,
             scoped=False),
    Endpoint("programme_suggestion.confirm", "POST", "/api/v1/programme-suggestions/999999999/confirm",
             frozenset(PROGRAMME_WORKERS), 404, scoped=False),
    Endpoint("programme_suggestion.dismiss", "POST", "/api/v1/programme-suggestions/999999999/dismiss",
             frozenset(PROGRAMME_WORKERS), 404, scoped=False, body=lambda w, s: {"reason": "诊断已排除"}),
    # referrals and consultations (the referrals service); an unknown one answers 404 to either side
    Endpoint("referral.create", "POST", "/api/v1/referrals", frozenset(REFERRERS), 201,
             body=lambda w, s: {"archive_no": w.archives[s], **REFERRAL_BODY}),
    Endpoint("referrals.list", "GET", "/api/v1/referrals?box=sent", frozenset(REFERRAL_SIDES), 200, scoped=False),
    Endpoint("referral.read", "GET", "/api/v1/referrals/999999999", frozenset(REFERRAL_SIDES), 404, scoped=False),
    Endpoint("referral.send", "POST", "/api/v1/referrals/999999999/send", frozenset(REFERRERS), 404, scoped=False,
             body=lambda w, s: {}),
    Endpoint("referral.cancel", "POST", "/api/v1/referrals/999999999/cancel", frozenset(REFERRERS), 404,
             scoped=False, body=lambda w, s: {"reason": "患者拒绝转诊"}),
    Endpoint("referral.accept", "POST", "/api/v1/referrals/999999999/accept", frozenset(REFERRAL_SIDES), 404,
             scoped=False, body=lambda w, s: {}),
    Endpoint("referral.reject", "POST", "/api/v1/referrals/999999999/reject", frozenset(REFERRAL_SIDES), 404,
             scoped=False, body=lambda w, s: {"reason": "本院无相应专科"}),
    Endpoint("referral.arrived", "POST", "/api/v1/referrals/999999999/arrived", frozenset(REFERRAL_SIDES), 404,
             scoped=False, body=lambda w, s: {}),
    Endpoint("referral.back_refer", "POST", "/api/v1/referrals/999999999/back-referral", frozenset(REFERRAL_SIDES),
             404, scoped=False, body=lambda w, s: BACK_BODY),
    Endpoint("referral.close", "POST", "/api/v1/referrals/999999999/close", frozenset(REFERRAL_SIDES), 404,
             scoped=False, body=lambda w, s: {"reason": "治愈出院"}),
    Endpoint("referral.records", "GET", "/api/v1/referrals/999999999/records", frozenset(REFERRAL_SIDES), 404,
             scoped=False),
    Endpoint("consultation.request", "POST", "/api/v1/consultations", frozenset(REFERRERS), 201,
             body=lambda w, s: {"archive_no": w.archives[s], "to_institution_code": "H1101050002",
                                "question": "血糖控制不佳，请协助调整方案"}),
    Endpoint("consultations.list", "GET", "/api/v1/consultations", frozenset(REFERRAL_SIDES), 200, scoped=False),
    Endpoint("consultation.read", "GET", "/api/v1/consultations/999999999", frozenset(REFERRAL_SIDES), 404,
             scoped=False),
    Endpoint("consultation.answer", "POST", "/api/v1/consultations/999999999/answer", frozenset(REFERRAL_SIDES),
             404, scoped=False, body=lambda w, s: {"opinion": "加用二甲双胍",
                                                   "consultants": [{"institution": "县医院", "doctor": "王医生"}]}),
    Endpoint("programme_figures.read", "GET", "/api/v1/programme-figures", frozenset(CLINICIANS | ADMINISTRATIVE),
             200, scoped=False),
    # operators' view of the referrals service: its quarantine of hospitals' answers, the filings it owes
    Endpoint("referral_quarantine.list", "GET", "/api/v1/referral-quarantine", frozenset({"system_operator"}), 200,
             scoped=False),
    Endpoint("referral_quarantine.show", "GET", "/api/v1/referral-quarantine/999999999",
             frozenset({"system_operator"}), 404, scoped=False),
    Endpoint("referral_quarantine.replay", "POST", "/api/v1/referral-quarantine/999999999/replay",
             frozenset({"system_operator"}), 404, scoped=False, body=lambda w, s: {}),
    Endpoint("referral_quarantine.discard", "POST", "/api/v1/referral-quarantine/999999999/discard",
             frozenset({"system_operator"}), 404, scoped=False, body=lambda w, s: {"note": "test"}),
    Endpoint("referral_filings.list", "GET", "/api/v1/referral-filings", frozenset({"system_operator"}), 200,
             scoped=False),
    Endpoint("referral_filings.retry", "POST", "/api/v1/referral-filings/retry", frozenset({"system_operator"}), 404,
             scoped=False, body=lambda w, s: {"filing_id": 999999999}),
    # the upload to the regional platform (the sync service): operators; supervisors read the counts
    Endpoint("sync.status", "GET", "/api/v1/sync/status", frozenset({"system_operator", "supervisor"}), 200,
             scoped=False),
    Endpoint("sync_documents.list", "GET", "/api/v1/sync/documents?state=rejected", frozenset({"system_operator"}),
             200, scoped=False),
    Endpoint("sync_document.resend", "POST", "/api/v1/sync/documents/999999999/resend",
             frozenset({"system_operator"}), 404, scoped=False),
    Endpoint("sync.backfill", "POST", "/api/v1/sync/backfill", frozenset({"system_operator"}), 202, scoped=False,
             body=lambda w, s: {"since": clock.today().isoformat()}),
    Endpoint("sync.reconciliation", "GET", "/api/v1/sync/reconciliation", frozenset({"system_operator"}), 200,
             scoped=False),
]
NEIGHBOUR = {"in": "110105101102", "out": "110105201102", "granted": "110105201102"}   # same township
MANAGER = {"in": IN_MANAGER, "out": OUT_MANAGER, "granted": OUT_MANAGER}


class World:
    """Two archives (IN and OUT of every caller's scope), their owners, and a caller per role."""

    def __init__(self, base: str, auth) -> None:
        self.base, self.auth, self.synth = base, auth, Synthesizer()
        self.owners = {"in": auth.session_for("township_doctor", IN_MANAGER),
                       "out": auth.session_for("township_doctor", OUT_MANAGER)}
        self.archives = {}
        for scope, village, manager in (("in", IN_VILLAGE, IN_MANAGER), ("out", OUT_VILLAGE, OUT_MANAGER)):
            resp = self.owners[scope].post(base + "/api/v1/archives",
                                           json=self.synth.resident(village, manager).archive_request())
            assert resp.status_code == 201, resp.text
            self.archives[scope] = resp.json()["archive_no"]
        self.callers: dict[str, tuple[requests.Session, str]] = {}
        self.managers = {"in": auth.session_for("archive_manager", IN_MANAGER),
                         "out": auth.session_for("archive_manager", OUT_MANAGER)}
        self.prepared: dict = {}
        for side in (self.owners, self.archives, self.managers):
            side["granted"] = side["out"]   # the OUT archive, seen under a grant
        self.grants: set[tuple[str, str]] = set()

    def grant(self, actor: str, role: str, archive_no: str) -> None:
        """An unexpired grant of the archive held by `actor` (written as `POST .../access` writes
        it, for any role, so that the role's own limits show too)."""
        if (actor, archive_no) not in self.grants:
            execute("gateway", "INSERT INTO access_grants (actor, archive_no, reason, institution_code, role, "
                               "granted_at, expires_at) VALUES (:a, :n, '患者来本院就诊', :i, :r, now(), "
                               "now() + interval '1 hour')", a=actor, n=archive_no, i=CALLERS[role], r=role)
            self.grants.add((actor, archive_no))

    def elder(self, scope: str, enrolled: bool = False, ended: bool = False) -> str:
        """A new archive of a resident of 70, enrolled in the elderly programme (and that ended) when asked."""
        village, manager = (IN_VILLAGE, IN_MANAGER) if scope == "in" else (OUT_VILLAGE, OUT_MANAGER)
        resident = self.synth.resident(village, manager, born=date(clock.today().year - 70, 1, 1) - timedelta(
            days=self.synth.rng.randrange(3000)))
        resp = self.owners[scope].post(self.base + "/api/v1/archives", json=resident.archive_request())
        assert resp.status_code == 201, resp.text
        archive_no = resp.json()["archive_no"]
        programmes = f"{self.base}/api/v1/archives/{archive_no}/programmes"
        if enrolled:
            resp = self.owners[scope].post(programmes, json={"programme": "elderly"})
            assert resp.status_code == 201, resp.text
        if ended:
            resp = self.owners[scope].post(programmes + "/elderly/end",
                                           json={"reason": "loss_to_follow_up", "date": clock.today().isoformat()})
            assert resp.status_code == 200, resp.text
        return archive_no

    def new_archive(self, scope: str) -> str:
        village, manager = (IN_VILLAGE, IN_MANAGER) if scope == "in" else (OUT_VILLAGE, OUT_MANAGER)
        resp = self.owners[scope].post(self.base + "/api/v1/archives",
                                       json=self.synth.resident(village, manager).archive_request())
        assert resp.status_code == 201, resp.text
        return resp.json()["archive_no"]

    def terminated_archive(self, scope: str) -> str:
        archive_no = self.new_archive(scope)
        resp = self.owners[scope].post(f"{self.base}/api/v1/archives/{archive_no}/termination",
                                       json={"reason": "loss_to_follow_up", "date": "2026-11-01", "note": "失访"})
        assert resp.status_code == 200, resp.text
        return archive_no

    def transfer(self, scope: str, towards_caller: bool) -> dict:
        """A requested transfer. In scope: one leaving the callers' village (`towards_caller`
        false) or coming to it from the other township (true); out of scope: one between two
        villages of the other township."""
        if scope == "in" and towards_caller:
            source, to = "out", {"to_village_code": IN_VILLAGE, "to_institution_code": IN_MANAGER}
        elif scope == "in":
            source, to = "in", {"to_village_code": OUT_VILLAGE, "to_institution_code": OUT_MANAGER}
        else:
            source, to = "out", {"to_village_code": NEIGHBOUR["out"], "to_institution_code": OUT_MANAGER}
        archive_no = self.new_archive(source)
        resp = self.owners[source].post(f"{self.base}/api/v1/archives/{archive_no}/transfers",
                                        json={**to, "reason": "迁居"})
        assert resp.status_code == 201, resp.text
        return {"transfer_id": resp.json()["transfer_id"], "audit_archive": archive_no}

    def merge(self, scope: str) -> dict:
        surviving, merged = self.new_archive(scope), self.new_archive(scope)
        resp = self.managers[scope].post(self.base + "/api/v1/merges", json={
            "surviving_archive_no": surviving, "merged_archive_no": merged, "reason": "同一居民重复建档"})
        assert resp.status_code == 201, resp.text
        return {"merge_id": resp.json()["merge_id"], "audit_archive": surviving}

    def caller(self, role: str, fresh: bool = False, granted: bool = False) -> tuple[requests.Session, str]:
        """(session, actor name as the audit trail names it); `granted`: another caller of the
        role, the one that holds grants (so that the plain one still meets OUT as hidden)."""
        if role == ANONYMOUS:
            return requests.Session(), "anonymous"
        key = f"{role}+granted" if granted else role
        if fresh or key not in self.callers:
            if role in ("township_system", "hospital_system"):
                name = f"matrix-{role}-{uuid.uuid4().hex[:6]}"
                caller = bearer(self.auth.api_key(role, CALLERS[role], name=name)), f"apikey:{name}"
            else:
                username = self.auth.user(role, CALLERS[role])
                caller = bearer(self.auth.token(username)), username
            if fresh:
                return caller
            self.callers[key] = caller
        return self.callers[key]

    def attachment(self, scope: str) -> dict:
        """A fresh attachment of the scope's archive, added by its owner."""
        resp = self.owners[scope].post(f"{self.base}/api/v1/archives/{self.archives[scope]}/attachments", json=SCAN)
        assert resp.status_code == 201, resp.text
        return {"attachment_id": resp.json()["attachment_id"]}

    def new_record(self, scope: str) -> str:
        resp = self.owners[scope].post(f"{self.base}/api/v1/archives/{self.archives[scope]}/records",
                                       json={"record_type": "visit", "content": VISIT})
        assert resp.status_code == 201, resp.text
        return resp.json()["record_id"]


def execute(service: str, sql: str, **params) -> None:
    import sqlalchemy as sa

    from shared.config import load_settings
    from shared.db import make_engine

    engine = make_engine(load_settings().database_url_for(service), pool_size=1)
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params)
    engine.dispose()


@pytest.fixture(scope="module")
def world(module_gateway, auth):
    return World(module_gateway, auth)


def _cases():
    for endpoint in ENDPOINTS:
        for role in (*CALLERS, ANONYMOUS):
            scopes = ("in", "out") if endpoint.scoped else ("-",)
            if "{archive_no}" in endpoint.path and role != ANONYMOUS:
                scopes += ("granted",)
            for scope in scopes:
                yield pytest.param(endpoint, role, scope, id=f"{endpoint.action}-{role}-{scope}")


def expected(endpoint: Endpoint, role: str, scope: str) -> tuple[int, str]:
    """(status, audit outcome) the matrix promises."""
    if role == ANONYMOUS:
        return 401, "no_credentials"
    if role not in endpoint.allowed:
        return 403, "denied"
    if scope == "granted":
        return ((endpoint.out_ok or endpoint.ok), "granted") if endpoint.action in GRANT_OPENS else (403, "beyond_grant")
    if scope != "out":
        return endpoint.ok, {404: "not_found", 422: "invalid_transition"}.get(endpoint.ok, "ok")
    if endpoint.out_ok == 403:
        return 403, "denied"
    if endpoint.out_ok:
        return endpoint.out_ok, "granted"
    return 404, "out_of_scope"


@pytest.mark.parametrize("endpoint,role,scope", list(_cases()))
def test_access_matrix(world, endpoint, role, scope):
    session, actor = world.caller(role, fresh=endpoint.action in ("archive.access", "auth.revoke"),
                                  granted=scope == "granted")
    world.prepared = endpoint.prepare(world, scope) if endpoint.prepare else {}
    archive_no = world.prepared.get("archive_no", world.archives.get(scope))
    if scope == "granted":
        world.grant(actor, role, archive_no)
    path = endpoint.path.replace("{archive_no}", archive_no or "")
    for name in ("transfer_id", "merge_id", "attachment_id"):
        path = path.replace("{%s}" % name, str(world.prepared.get(name, "")))
    if endpoint.needs_record:
        path = path.replace("{record_id}", world.new_record(scope))
    body = endpoint.body(world, scope) if endpoint.body else None
    resp = session.request(endpoint.method, world.base + path, json=body)

    status, outcome = expected(endpoint, role, scope)
    assert resp.status_code == status, resp.text
    request_id = resp.headers["X-Request-Id"]

    *attempt, entry = query("gateway", "SELECT * FROM audit_entries WHERE request_id = :r ORDER BY seq",
                            r=request_id)
    assert (entry.action, entry.status, entry.outcome) == (endpoint.action, status, outcome)
    # a write leaves its entry before it is done (outcome `attempt`), once the caller may do it
    writes = endpoint.method in ("POST", "PATCH") and endpoint.action != "archive.search"
    assert [(a.action, a.outcome, a.status) for a in attempt] in ([], [(endpoint.action, "attempt", 0)])
    assert bool(attempt) <= writes and (bool(attempt) or not (writes and status < 400))
    assert entry.actor == actor
    if role != ANONYMOUS:
        assert (entry.role, entry.institution_code) == (role, CALLERS[role])
    touched = archive_no if endpoint.scoped and endpoint.action != "archive.create" else None
    if endpoint.action == "archive.create" and status == 201:
        touched = resp.json()["archive_no"]
    if endpoint.action == "pending.propose" and role == "system_operator":
        touched = world.archives["in"]  # named by the body, noted once the body is read
    if endpoint.action in ("pending.link", "referral.create", "consultation.request") \
            and role not in endpoint.allowed:
        touched = None  # named by the body, which a refused caller's request never gets to
    if "audit_archive" in world.prepared or endpoint.action == "archive.merge":
        # a transfer or merge named by its id is noted by its archive once it is read; a merge
        # request by its surviving archive once that is found in scope
        touched = None
        if role in endpoint.allowed:
            touched = world.prepared.get("audit_archive")
            if endpoint.action == "archive.merge" and scope == "in":
                touched = world.prepared["pair"][0]
    assert entry.archive_no == touched
    flagged = scope in ("out", "granted") and role in endpoint.allowed and endpoint.action not in ("archive.create",)
    assert entry.out_of_scope == flagged


# The health commission supervises and manages: an account of it reads and counts its county as
# its role allows, and creates, corrects, records or keeps nothing, whatever its role (a township
# doctor made at the commission before `ehr user add` refused it: tests/unit/test_access.py).
# Written out, not derived.
COMMISSION = "G1101050001"
COMMISSION_REFUSED = {"archive.create", "archive.update", "archive.id_number", "record.create", "record.amend",
                      "record.entered_in_error", "archive.terminate", "archive.reactivate", "transfer.request",
                      "transfer.accept", "transfer.reject", "transfer.cancel", "pending.link", "record.review",
                      "programme.enrol", "programme.end", "programme.resume", "programme_suggestion.confirm",
                      "programme_suggestion.dismiss", "referral.create", "consultation.request"}
COMMISSION_READS = {"archive.read": 200, "archive.summary": 200, "records.list": 200, "archive.revisions": 200,
                    "archive.search": 200, "archive.duplicates": 200, "stats.read": 200, "programmes.read": 200,
                    "worklist.read": 200, "programme_suggestions.list": 200, "programme_figures.read": 200}


@pytest.fixture(scope="module")
def commission_doctor(world):
    # written straight into the gateway's database, as an account made before the rule was
    username = world.auth.user("township_doctor", COMMISSION)
    return bearer(world.auth.token(username)), username


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.action in COMMISSION_REFUSED | set(COMMISSION_READS)],
                         ids=lambda e: e.action)
def test_a_health_commission_account_supervises_and_writes_nothing(world, commission_doctor, endpoint):
    session, username = commission_doctor
    path = endpoint.path.replace("{archive_no}", world.archives["in"]).replace("{record_id}", "rec-1")
    for name in ("transfer_id", "merge_id"):
        path = path.replace("{%s}" % name, "999999999")
    body = endpoint.body(world, "in") if endpoint.body and endpoint.action in COMMISSION_REFUSED else (
        {"archive_no": IN_VILLAGE} if endpoint.method == "POST" else None)
    resp = session.request(endpoint.method, world.base + path, json=body)
    status = 403 if endpoint.action in COMMISSION_REFUSED else COMMISSION_READS[endpoint.action]
    assert resp.status_code == status, resp.text
    entry = audit_outcome(resp.headers["X-Request-Id"])
    assert (entry.action, entry.status, entry.outcome, entry.actor) == (
        endpoint.action, status, "denied" if status == 403 else "ok", username)
    assert not entry.out_of_scope  # the county is the commission's jurisdiction: it may look, not write


def test_an_out_of_scope_archive_answers_exactly_like_an_unknown_one(world):
    session, _ = world.caller("village_doctor")
    unknown = OUT_VILLAGE + "99999"
    hidden = session.get(f"{world.base}/api/v1/archives/{world.archives['out']}")
    missing = session.get(f"{world.base}/api/v1/archives/{unknown}")
    assert hidden.status_code == missing.status_code == 404

    def shape(resp, number):
        error = resp.json()["error"]
        return error["code"], error["message"], {k: v.replace(number, "N") for k, v in error["details"].items()}

    assert shape(hidden, world.archives["out"]) == shape(missing, unknown)


def test_a_stated_reason_opens_an_archive_for_a_while_and_every_look_is_flagged(world):
    session, doctor = world.caller("township_doctor", fresh=True)
    archive = f"{world.base}/api/v1/archives/{world.archives['out']}"
    assert session.get(archive).status_code == 404

    granted = session.post(archive + "/access", json={"reason": "急诊：患者在本院就诊，身份证 11010519491231002X"})
    assert granted.status_code == 201 and granted.json()["expires_at"]
    read = session.get(archive)
    assert read.status_code == 200 and read.json()["archive_no"] == world.archives["out"]
    filed = session.post(archive + "/records", json={"record_type": "visit", "content": VISIT})
    assert filed.status_code == 201
    assert filed.json()["revisions"][0]["author"] == doctor

    entry = audit_outcome(read.headers["X-Request-Id"])
    assert entry.out_of_scope and entry.outcome == "granted" and entry.status == 200
    assert entry.reason.startswith("急诊：患者在本院就诊") and "19491231" not in entry.reason

    execute("gateway", "UPDATE access_grants SET expires_at = now() - interval '1 second' WHERE actor = :a", a=doctor)
    assert session.get(archive).status_code == 404


def test_the_caller_reaches_the_services_as_the_actor(world):
    session, username = world.caller("archive_manager")
    created = session.post(world.base + "/api/v1/archives", json=_resident(world, "in"))
    assert created.status_code == 201 and created.json()["created_by"] == username
    filed = session.post(f"{world.base}/api/v1/archives/{created.json()['archive_no']}/records",
                         json={"record_type": "visit", "content": VISIT})
    assert filed.status_code == 201
    assert filed.json()["revisions"][0]["author"] == username
    assert filed.json()["institution_code"] == CALLERS["archive_manager"]


def test_supervisors_see_counts_per_village_and_no_personal_data(world):
    session, _ = world.caller("supervisor")
    stats = session.get(world.base + "/api/v1/stats")
    assert stats.status_code == 200
    figures = stats.json()
    assert figures["jurisdiction"] == "110105"
    by_village = {v["code"]: v for v in figures["villages"]}
    assert by_village[IN_VILLAGE]["archives"] >= 1 and by_village[OUT_VILLAGE]["archives"] >= 1
    assert figures["total"] == sum(v["archives"] for v in figures["villages"])
    assert set(figures) == {"jurisdiction", "total", "villages"}
    assert all(set(v) == {"code", "name", "archives", "by_status"} for v in figures["villages"])

    doctor, _ = world.caller("village_doctor")
    assert {v["code"] for v in doctor.get(world.base + "/api/v1/stats").json()["villages"]} == {IN_VILLAGE}


def test_the_audit_trail_holds_no_clinical_content_or_identity(world):
    resident = world.synth.resident(IN_VILLAGE, IN_MANAGER)
    session, _ = world.caller("township_doctor")
    assert session.post(world.base + "/api/v1/archives", json=resident.archive_request()).status_code == 201
    rows = query("gateway", "SELECT * FROM audit_entries")
    text = " ".join(str(tuple(row)) for row in rows)
    assert resident.id_number not in text and resident.name not in text and resident.phone not in text
    assert VISIT["subjective"] not in text
