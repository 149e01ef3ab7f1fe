"""Who may do what through the gateway: roles, actions, the matrix, and scope.

Plain rules, no framework: the gateway's `Gate` applies them to each request, the `ehr user`
and `ehr apikey` commands check roles against institutions with them, and the unit tests read
them as the specification.

Roles. People sign in with a password; system clients use API keys.

    village_doctor      村医: archives of the clinic's village
    township_doctor     乡镇卫生院/社区卫生服务中心 doctor: archives of the township
    archive_manager     档案管理员: the same archives, to create and keep them
    institution_admin   the institution's administrator: reference data and aggregate figures,
                        no personal data (accounts are managed with `ehr user ...` on the server)
    supervisor          卫健委 supervisor: aggregate figures, and the grants others took on the
                        jurisdiction's archives (`GRANT_OVERSIGHT`, as for administrators and
                        archive managers); no other personal data; the counts of the upload
                        to the regional platform (`SYNC_STATUS`, no document named)
    system_operator     quarantine and pending encounters (a whitelist of fields, identifiers masked),
                        no clinical content; proposes links that a clinician in scope confirms;
                        the upload to the regional platform (status, documents, resend, backfill,
                        reconciliation)
    township_system     a township centre's information system (API key): registers residents
                        and reads the archives of its township; files, amends and strikes out its
                        form records (the follow-ups its doctors enter in it) and does its
                        programme work (enrolment, work list, suggestions); no attachments, no
                        grants, no keeping of the register, no figures
    hospital_system     a hospital's HIS (API key): publishes encounters over AMQP, so over HTTP
                        it has the reference data and health only

Only institutions that keep archives write them (`KEEPING_KINDS`, `KEEPERS_WRITE`): the health
commission supervises and manages, so its accounts read and count their county, whatever their
role, and create, correct, record, terminate, transfer, merge or link nothing (403). No
township-doctor account is made at the commission any more (`ROLE_INSTITUTION_KINDS`).

Scope follows the administrative hierarchy. An institution's jurisdiction is its division code,
a prefix of the 12-digit village codes under it: the health commission's county (6 digits), a
township or community centre's township (9), a village clinic or community station's village
(12). Hospitals manage no archives and have none. An archive is in scope when its village lies
in the caller's jurisdiction or the caller's institution manages it.

Search, counts and duplicate review are confined to the jurisdiction (and the archives the
institution manages); grants do not widen them. A transfer is requested by the sending side (the
archive in the caller's own scope), seen by both sides, accepted or rejected by the receiving one
and cancelled by the sending one; a merge needs both archives in scope. Anything else answers 404
as if it did not exist.

Out of scope, an archive answers 404 exactly as an unknown one would, unless the caller holds an
unexpired grant for it: `POST /api/v1/archives/{no}/access` with a stated reason (the resident
came for care here, an emergency) creates one, and every look under it is flagged in the audit
trail with that reason. A grant opens reading the archive and entering the record of the care
given (`UNDER_GRANT`), nothing else: correcting the identity or others' records, terminating,
reactivating, transferring, reviewing duplicates and merging need the archive in the caller's
own scope, and under a grant answer 403 (the archive is no secret to its holder). A user may take
at most `EHR_GRANT_DAILY_LIMIT` grants in any 24 hours (429 past it), and each grant is announced
to the archive's owners (`access_granted`) and listed for their supervisors (`GET
/api/v1/grants`, `GRANT_OVERSIGHT`). The records service refuses clinical writes to an archive
that is no longer active (422).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from shared.errors import EhrError, NotFound

# -- roles ---------------------------------------------------------------------------------

VILLAGE_DOCTOR = "village_doctor"
TOWNSHIP_DOCTOR = "township_doctor"
ARCHIVE_MANAGER = "archive_manager"
INSTITUTION_ADMIN = "institution_admin"
SUPERVISOR = "supervisor"
SYSTEM_OPERATOR = "system_operator"
TOWNSHIP_SYSTEM = "township_system"
HOSPITAL_SYSTEM = "hospital_system"

USER_ROLES = (VILLAGE_DOCTOR, TOWNSHIP_DOCTOR, ARCHIVE_MANAGER, INSTITUTION_ADMIN, SUPERVISOR, SYSTEM_OPERATOR)
API_KEY_ROLES = (TOWNSHIP_SYSTEM, HOSPITAL_SYSTEM, SYSTEM_OPERATOR, SUPERVISOR)
ROLES = (*USER_ROLES, TOWNSHIP_SYSTEM, HOSPITAL_SYSTEM)

CENTRES = frozenset({"township_centre", "community_centre"})
VILLAGE_UNITS = frozenset({"village_clinic", "community_station"})
ANY_KIND = None

# The kinds of institution a role can belong to (None: any); `ehr user add` checks it.
ROLE_INSTITUTION_KINDS: dict[str, frozenset[str] | None] = {
    VILLAGE_DOCTOR: VILLAGE_UNITS,
    TOWNSHIP_DOCTOR: CENTRES,
    ARCHIVE_MANAGER: CENTRES | VILLAGE_UNITS,
    INSTITUTION_ADMIN: ANY_KIND,
    SUPERVISOR: ANY_KIND,
    SYSTEM_OPERATOR: ANY_KIND,
    TOWNSHIP_SYSTEM: CENTRES,
    HOSPITAL_SYSTEM: frozenset({"hospital"}),
}

# Institutions that manage archives, and whose division code is therefore a jurisdiction.
JURISDICTION_KINDS = frozenset({"health_commission"}) | CENTRES | VILLAGE_UNITS
# Institutions that keep archives (管理单位): their staff create archives and write records. The
# health commission supervises and manages: its jurisdiction is the county's, but it writes
# nothing into an archive, whatever role an account of it was given (`KEEPERS_WRITE`).
KEEPING_KINDS = CENTRES | VILLAGE_UNITS


# -- actions -------------------------------------------------------------------------------

READ, WRITE, GRANT = "read", "write", "grant"  # how an action touches the archive in its path


@dataclass(frozen=True)
class Action:
    name: str
    archive: str | None = None  # READ / WRITE / GRANT for the archive named in the path


SIGN_IN = Action("auth.sign_in")
SIGN_OUT = Action("auth.sign_out")  # a web page's session ended by its user (audited; anyone signed in)
AUTH_REVOKE = Action("auth.revoke")  # sign oneself out everywhere (every token of one's own)
ARCHIVE_CREATE = Action("archive.create")
ARCHIVE_READ = Action("archive.read", READ)
SUMMARY_READ = Action("archive.summary", READ)
RECORDS_LIST = Action("records.list", READ)
RECORD_READ = Action("record.read", READ)
RECORD_CREATE = Action("record.create", WRITE)
RECORD_AMEND = Action("record.amend", WRITE)
RECORD_MARK_IN_ERROR = Action("record.entered_in_error", WRITE)
ACCESS_GRANT = Action("archive.access", GRANT)
ATTACHMENTS_LIST = Action("attachments.list", READ)
ATTACHMENT_READ = Action("attachment.read", READ)     # the file itself: an audited read
ATTACHMENT_ADD = Action("attachment.add", WRITE)
ATTACHMENT_MARK_IN_ERROR = Action("attachment.entered_in_error", WRITE)
ARCHIVE_EXPORT = Action("archive.export", READ)       # the resident's copy, handed over by a clinician
ARCHIVE_RETENTION = Action("archive.retention", READ)  # until when it must be kept (its keepers)
VILLAGES_LIST = Action("reference.villages")
INSTITUTIONS_LIST = Action("reference.institutions")
STATS_READ = Action("stats.read")
QUARANTINE_LIST = Action("quarantine.list")
QUARANTINE_SHOW = Action("quarantine.show")
QUARANTINE_REPLAY = Action("quarantine.replay")
QUARANTINE_DISCARD = Action("quarantine.discard")
PENDING_LIST = Action("pending.list")
PENDING_PROPOSE = Action("pending.propose")      # an operator names the archive; nothing is filed
PENDING_PROPOSALS = Action("pending.proposals")  # what operators proposed into one's jurisdiction
PENDING_LINK = Action("pending.link")            # file it: a clinician with the archive in real scope
REVIEWS_LIST = Action("reviews.list")            # filings flagged for a look (far hospitals)
REVIEW_CLEAR = Action("record.review", WRITE)    # "this filing is right"
# the archive lifecycle (the registry)
ARCHIVE_SEARCH = Action("archive.search")
ARCHIVE_UPDATE = Action("archive.update", WRITE)
ARCHIVE_ID_ATTACH = Action("archive.id_number", WRITE)  # a newborn's archive gets its ID number
REVISIONS_LIST = Action("archive.revisions", READ)
ARCHIVE_TERMINATE = Action("archive.terminate", WRITE)
ARCHIVE_REACTIVATE = Action("archive.reactivate", WRITE)
DUPLICATES_REVIEW = Action("archive.duplicates", READ)
TRANSFER_REQUEST = Action("transfer.request", WRITE)
TRANSFERS_LIST = Action("transfers.list", READ)
TRANSFERS_INCOMING = Action("transfers.incoming")
TRANSFER_READ = Action("transfer.read")
TRANSFER_ACCEPT = Action("transfer.accept")
TRANSFER_REJECT = Action("transfer.reject")
TRANSFER_CANCEL = Action("transfer.cancel")
MERGES_LIST = Action("merges.list", READ)
MERGE_READ = Action("merge.read")
ARCHIVE_MERGE = Action("archive.merge")
ARCHIVE_UNMERGE = Action("archive.unmerge")
GRANTS_LIST = Action("grants.list")
# The 居民健康档案信息卡: issued (and reissued) by the clinicians who hand it over; its content,
# with the resident's phone in full for printing, is read by them too.
CARD_ISSUE = Action("card.issue", WRITE)
CARD_READ = Action("card.read", READ)
# The key-population programmes (the programmes service): enrolment by the clinicians of the
# archive's scope, their work lists and suggestions to confirm, and the programme figures
# (counts and rates only) for supervisors and administrators too.
PROGRAMMES_READ = Action("programmes.read", READ)
PROGRAMME_ENROL = Action("programme.enrol", WRITE)
PROGRAMME_END = Action("programme.end", WRITE)
PROGRAMME_RESUME = Action("programme.resume", WRITE)
WORKLIST_READ = Action("worklist.read")
SUGGESTIONS_LIST = Action("programme_suggestions.list")
SUGGESTION_CONFIRM = Action("programme_suggestion.confirm")
SUGGESTION_DISMISS = Action("programme_suggestion.dismiss")
PROGRAMME_FIGURES = Action("programme_figures.read")
# The work indicators (考核指标: 建档率, 电子建档率, 使用率, per village and by month): for those who
# supervise (the health commission's supervisors, an institution's administrator), not for the
# clinicians whose work they measure.
INDICATORS_READ = Action("indicators.read")
# Referrals (双向转诊) and consultations (会诊), the referrals service's: clinicians and the
# township's own system refer residents of their scope and ask for consultations; both sides
# (hospitals' systems too) read theirs and answer what is addressed to them; the receiver of an
# open referral reads the records it names (`REFERRAL_RECORDS`, audited under `referral:<id>`).
REFERRAL_CREATE = Action("referral.create")
REFERRALS_LIST = Action("referrals.list")
REFERRAL_READ = Action("referral.read")
REFERRAL_SEND = Action("referral.send")
REFERRAL_CANCEL = Action("referral.cancel")
REFERRAL_ACCEPT = Action("referral.accept")
REFERRAL_REJECT = Action("referral.reject")
REFERRAL_ARRIVED = Action("referral.arrived")
REFERRAL_BACK_REFER = Action("referral.back_refer")
REFERRAL_CLOSE = Action("referral.close")
REFERRAL_RECORDS = Action("referral.records")
CONSULTATION_REQUEST = Action("consultation.request")
CONSULTATIONS_LIST = Action("consultations.list")
CONSULTATION_READ = Action("consultation.read")
CONSULTATION_ANSWER = Action("consultation.answer")
# Operators' view of the referrals service: hospitals' answers it quarantined (masked bodies;
# replay or discard), and the records it still owes the archive (retry now).
REFERRAL_QUARANTINE_LIST = Action("referral_quarantine.list")
REFERRAL_QUARANTINE_SHOW = Action("referral_quarantine.show")
REFERRAL_QUARANTINE_REPLAY = Action("referral_quarantine.replay")
REFERRAL_QUARANTINE_DISCARD = Action("referral_quarantine.discard")
REFERRAL_FILINGS_LIST = Action("referral_filings.list")
REFERRAL_FILINGS_RETRY = Action("referral_filings.retry")
# Operators' view of the upload to the regional platform (区域平台上传, the sync service): the
# queue's counts, its documents with the platform's reasons, a resend, a backfill, the
# reconciliation. Supervisors read the counts (`SYNC_STATUS`): how far the upload has got.
SYNC_STATUS = Action("sync.status")
SYNC_DOCUMENTS_LIST = Action("sync_documents.list")
SYNC_DOCUMENT_RESEND = Action("sync_document.resend")
SYNC_BACKFILL = Action("sync.backfill")
SYNC_RECONCILIATION = Action("sync.reconciliation")

ARCHIVE_READS = {ARCHIVE_READ, SUMMARY_READ, RECORDS_LIST, RECORD_READ, ARCHIVE_SEARCH, REVISIONS_LIST,
                 TRANSFERS_LIST, MERGES_LIST, ATTACHMENTS_LIST, ATTACHMENT_READ}
RECORD_WRITES = {RECORD_CREATE, RECORD_AMEND, RECORD_MARK_IN_ERROR}
CLINICAL_WRITES = {*RECORD_WRITES, ATTACHMENT_ADD, ATTACHMENT_MARK_IN_ERROR}
REFERENCE = {VILLAGES_LIST, INSTITUTIONS_LIST}
OPERATIONS = {QUARANTINE_LIST, QUARANTINE_SHOW, QUARANTINE_REPLAY, QUARANTINE_DISCARD, PENDING_LIST, PENDING_PROPOSE,
              REVIEWS_LIST, REFERRAL_QUARANTINE_LIST, REFERRAL_QUARANTINE_SHOW, REFERRAL_QUARANTINE_REPLAY,
              REFERRAL_QUARANTINE_DISCARD, REFERRAL_FILINGS_LIST, REFERRAL_FILINGS_RETRY}
SYNC_OPERATIONS = {SYNC_STATUS, SYNC_DOCUMENTS_LIST, SYNC_DOCUMENT_RESEND, SYNC_BACKFILL, SYNC_RECONCILIATION}
# A township centre's own system files what its doctors enter in it (follow-ups above all: the
# 公卫 software of the centre is where most are typed) and runs their programme work; the figures
# are for people (as STATS_READ is).
SYSTEM_PROGRAMME_WORK = {PROGRAMMES_READ, PROGRAMME_ENROL, PROGRAMME_END, PROGRAMME_RESUME, WORKLIST_READ,
                         SUGGESTIONS_LIST, SUGGESTION_CONFIRM, SUGGESTION_DISMISS}
REFERRING = {REFERRAL_CREATE, REFERRAL_SEND, REFERRAL_CANCEL, CONSULTATION_REQUEST}
RECEIVING_REFERRALS = {REFERRALS_LIST, REFERRAL_READ, REFERRAL_ACCEPT, REFERRAL_REJECT, REFERRAL_ARRIVED,
                       REFERRAL_BACK_REFER, REFERRAL_CLOSE, REFERRAL_RECORDS, CONSULTATIONS_LIST, CONSULTATION_READ,
                       CONSULTATION_ANSWER}
PROGRAMME_WORK = {*SYSTEM_PROGRAMME_WORK, PROGRAMME_FIGURES}
CLINICIAN = {ARCHIVE_CREATE, ARCHIVE_UPDATE, ARCHIVE_ID_ATTACH, *ARCHIVE_READS, *CLINICAL_WRITES, ACCESS_GRANT,
             *REFERENCE, STATS_READ, REVIEWS_LIST, ARCHIVE_EXPORT, CARD_ISSUE, CARD_READ, *PROGRAMME_WORK,
             *REFERRING, *RECEIVING_REFERRALS}
# Keeping the register: ending and reopening archives, moving them between villages, finding
# duplicates. The township's doctors and archive managers do it; village doctors report.
KEEPING = {ARCHIVE_TERMINATE, ARCHIVE_REACTIVATE, DUPLICATES_REVIEW, TRANSFER_REQUEST, TRANSFERS_INCOMING,
           TRANSFER_READ, TRANSFER_ACCEPT, TRANSFER_REJECT, TRANSFER_CANCEL, MERGE_READ, ARCHIVE_RETENTION}
# Merging two archives (and undoing it) decides who a person is: the archive manager's call.
MERGING = {ARCHIVE_MERGE, ARCHIVE_UNMERGE}
# Who sees the grants others took on the archives of their jurisdiction (break-the-glass review).
GRANT_OVERSIGHT = {GRANTS_LIST}
# Deciding that a hospital's patient is a resident: linking a pending encounter (which also
# teaches the registry the hospital's MRN) and clearing a far filing. Those who keep the register
# do it, for archives in their real scope (grants do not count); an operator only proposes.
MATCHING = {PENDING_PROPOSALS, PENDING_LINK, REVIEW_CLEAR}

# What a grant opens on an archive outside the caller's scope: reading it, and entering the record
# of the care given. Everything else that names an archive (identity corrections, others' records,
# termination, reactivation, transfer requests, duplicate review) needs it in the caller's scope.
UNDER_GRANT = frozenset({ARCHIVE_READ, SUMMARY_READ, RECORDS_LIST, RECORD_READ, REVISIONS_LIST, TRANSFERS_LIST,
                         MERGES_LIST, RECORD_CREATE, ATTACHMENTS_LIST, ATTACHMENT_READ})

PERMISSIONS: dict[str, frozenset[Action]] = {
    VILLAGE_DOCTOR: frozenset(CLINICIAN),
    TOWNSHIP_DOCTOR: frozenset({*CLINICIAN, *KEEPING, *MATCHING}),
    ARCHIVE_MANAGER: frozenset({*CLINICIAN, *KEEPING, *MERGING, *MATCHING, *GRANT_OVERSIGHT}),
    INSTITUTION_ADMIN: frozenset({*REFERENCE, STATS_READ, PROGRAMME_FIGURES, INDICATORS_READ, *GRANT_OVERSIGHT}),
    SUPERVISOR: frozenset({*REFERENCE, STATS_READ, PROGRAMME_FIGURES, INDICATORS_READ, *GRANT_OVERSIGHT,
                           SYNC_STATUS}),
    SYSTEM_OPERATOR: frozenset({*REFERENCE, *OPERATIONS, *SYNC_OPERATIONS}),
    TOWNSHIP_SYSTEM: frozenset({ARCHIVE_CREATE, ARCHIVE_UPDATE, ARCHIVE_ID_ATTACH, *ARCHIVE_READS, *REFERENCE,
                                *RECORD_WRITES, *SYSTEM_PROGRAMME_WORK, *REFERRING, *RECEIVING_REFERRALS}),
    HOSPITAL_SYSTEM: frozenset({*REFERENCE, *RECEIVING_REFERRALS}),
}
# Everyone who signs in may sign themselves out everywhere (`POST /api/v1/auth/revoke`).
PERMISSIONS.update({role: PERMISSIONS[role] | {AUTH_REVOKE} for role in USER_ROLES})

# What creates or changes an archive, its identity or its records: only for callers of an
# institution that keeps archives (`KEEPING_KINDS`). A health commission's account (say, a
# township doctor made at the commission before this rule) reads, counts and reviews grants as its
# role allows, and writes none of these (403).
KEEPERS_WRITE = frozenset({ARCHIVE_CREATE, ARCHIVE_UPDATE, ARCHIVE_ID_ATTACH, *CLINICAL_WRITES, ARCHIVE_TERMINATE,
                           ARCHIVE_REACTIVATE, TRANSFER_REQUEST, TRANSFER_ACCEPT, TRANSFER_REJECT, TRANSFER_CANCEL,
                           *MERGING, PENDING_LINK, REVIEW_CLEAR, CARD_ISSUE, PROGRAMME_ENROL, PROGRAMME_END,
                           PROGRAMME_RESUME, SUGGESTION_CONFIRM, SUGGESTION_DISMISS, *REFERRING})

# Who may be an archive's 责任医生: a person of the managing institution who records care.
RESPONSIBLE_ROLES = frozenset(role for role in USER_ROLES if RECORD_CREATE in PERMISSIONS[role])


# -- errors the gateway answers with -------------------------------------------------------

class Unauthorized(EhrError):
    """No credentials, or ones that are wrong, expired, revoked or locked: sign in again."""

    status = 401
    code = "unauthorized"


class Forbidden(EhrError):
    """Signed in, but the role may not do this (or not for that village)."""

    status = 403
    code = "forbidden"


class TooManyGrants(EhrError):
    """The user took `EHR_GRANT_DAILY_LIMIT` grants in the last 24 hours."""

    status = 429
    code = "too_many_grants"


def no_such_archive(archive_no: str) -> NotFound:
    """What an out-of-scope archive answers: word for word what the registry says of an unknown one."""
    return NotFound("no such archive", {"archive_no": archive_no})


def beyond_grant(action: Action, archive_no: str) -> Forbidden:
    """What an action a grant does not open answers to the grant's holder."""
    return Forbidden("a grant opens the archive for reading and recording the care given only; "
                     "this needs the archive in your own scope", {"action": action.name, "archive_no": archive_no})


# -- decisions -----------------------------------------------------------------------------

def permits(role: str | None, action: Action) -> bool:
    return action in PERMISSIONS.get(role or "", frozenset())


def require(role: str | None, action: Action) -> None:
    if not permits(role, action):
        raise Forbidden("your role may not do this", {"role": role, "action": action.name})


def require_keeping(institution: Mapping[str, Any] | None, action: Action) -> None:
    """Refuse (403) an action of `KEEPERS_WRITE` to a caller whose institution keeps no archives
    (the health commission, a hospital, one the registry does not know)."""
    if action in KEEPERS_WRITE and (institution or {}).get("kind") not in KEEPING_KINDS:
        raise Forbidden("your institution supervises: it does not create archives or write records",
                        {"action": action.name, "institution_code": (institution or {}).get("code")})


def may_be_responsible(user: Mapping[str, Any] | None, institution_code: str) -> bool:
    """Whether a user (`{"institution_code": ..., "role": ...}`, None: no such user) may be the
    责任医生 of archives managed by `institution_code`: one of its people who records care."""
    return bool(user) and user.get("institution_code") == institution_code and user.get("role") in RESPONSIBLE_ROLES


def jurisdiction(institution: Mapping[str, Any] | None) -> str | None:
    """The division code prefix an institution answers for, or None (hospitals, unknown kinds)."""
    if not institution or institution.get("kind") not in JURISDICTION_KINDS:
        return None
    return institution.get("division_code") or None


def village_in_scope(institution: Mapping[str, Any] | None, village_code: str) -> bool:
    prefix = jurisdiction(institution)
    return bool(prefix) and village_code.startswith(prefix)


def archive_in_scope(institution: Mapping[str, Any] | None, archive: Mapping[str, Any]) -> bool:
    if institution and archive.get("institution_code") == institution.get("code"):
        return True
    return village_in_scope(institution, archive.get("village_code") or "")


@dataclass(frozen=True)
class ArchiveDecision:
    allowed: bool
    out_of_scope: bool  # flagged in the audit trail whether allowed (under a grant) or not
    beyond_grant: bool = False  # refused although a grant is held: 403 (`beyond_grant`), not 404


def decide_archive(action: Action, institution: Mapping[str, Any] | None, archive: Mapping[str, Any],
                   has_grant: bool) -> ArchiveDecision:
    """May a caller (already permitted the action by role) touch this archive?

    In scope: yes. Out of scope: asking for a grant is always possible (that is the way in); with
    an unexpired grant, what it opens (`UNDER_GRANT`), flagged, and nothing else (403); without
    one, no, and the gateway answers 404.
    """
    if archive_in_scope(institution, archive):
        return ArchiveDecision(allowed=True, out_of_scope=False)
    if action.archive == GRANT:
        return ArchiveDecision(allowed=True, out_of_scope=True)
    if has_grant:
        opened = action in UNDER_GRANT
        return ArchiveDecision(allowed=opened, out_of_scope=True, beyond_grant=not opened)
    return ArchiveDecision(allowed=False, out_of_scope=True)


def search_scope(institution: Mapping[str, Any] | None) -> dict[str, str | None]:
    """What the registry's search, counts and duplicate review are confined to for this caller:
    the archives numbered under its jurisdiction and those its institution manages."""
    return {"prefix": jurisdiction(institution), "institution_code": (institution or {}).get("code")}


SENDING, RECEIVING = "sending", "receiving"


def transfer_sides(institution: Mapping[str, Any] | None, transfer: Mapping[str, Any]) -> set[str]:
    """The sides of a transfer the caller's institution stands on: the sending side holds the
    village (or is the institution) the archive leaves, the receiving side the one it goes to."""
    sides = set()
    code = (institution or {}).get("code")
    if code == transfer.get("from_institution_code") or village_in_scope(institution, transfer["from_village_code"]):
        sides.add(SENDING)
    if code == transfer.get("to_institution_code") or village_in_scope(institution, transfer["to_village_code"]):
        sides.add(RECEIVING)
    return sides


def role_fits_institution(role: str, kind: str | None) -> bool:
    kinds = ROLE_INSTITUTION_KINDS.get(role, frozenset())
    return kinds is ANY_KIND or kind in kinds


def matrix() -> dict[str, dict[str, bool]]:
    """role -> action name -> permitted: the table the README and the tests show."""
    actions = sorted({a.name for perms in PERMISSIONS.values() for a in perms})
    return {role: {a: a in {p.name for p in PERMISSIONS[role]} for a in actions} for role in ROLES}
