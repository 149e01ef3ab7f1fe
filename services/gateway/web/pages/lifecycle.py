"""An archive's life, for the roles that keep the register: terminating it (death, migration out,
loss to follow-up, with what each asks), reactivating it, transferring it to another village or
institution (request and withdraw on the sending side; accept or reject, from the list of
transfers waiting, on the receiving side), merging a duplicate into it and undoing a merge, and
correcting the resident's identity (with its revisions).

Each runs the API's routes (`terminate_archive`, `reactivate_archive`, `list_archive_transfers`,
`request_transfer`, `cancel_transfer`, `list_incoming_transfers`, `accept_transfer`,
`reject_transfer`, `list_merges`, `possible_duplicates`, `merge_archives`, `unmerge_archives`,
`update_identity`, `list_revisions`) as the signed-in user. A form is offered only to a role the
access matrix lets do it (`c.may`), and only in the archive's state it applies to; a forged POST
is refused by the same gate as the API call (403), and the server's errors come back beside the
field they name.
"""

from __future__ import annotations

from datetime import date

from shared.errors import EhrError, ValidationFailed

from services.gateway import access
from services.gateway.web.forms import flatten_errors
from services.gateway.web.page import Page, PageCall

TERMINATION_REASONS = {"death": "死亡", "migration_out": "迁出", "loss_to_follow_up": "失访"}
# What each reason asks besides its date (the registry's TerminationSchema decides; this only lays
# out the form): the field, its label.
TERMINATION_DETAILS = {"cause": "死亡原因", "destination": "迁往地", "handover": "档案交接情况", "note": "失访情况说明"}
TRANSFER_STATUS = {"requested": "待接收", "accepted": "已接收", "rejected": "已拒绝", "cancelled": "已撤回"}
REVISION_ACTIONS = {"created": "建档", "identity_updated": "更正个人信息", "terminated": "终止", "reactivated": "恢复",
                    "transferred": "迁移", "merged": "并入其他档案", "merge_received": "合并重复档案",
                    "unmerged": "撤销合并（恢复）", "merge_undone": "撤销合并", "id_number_attached": "补录身份证号"}
# The archive's columns a revision names, in Chinese (the registry shows the personal ones masked).
FIELD_NAMES = {"archive_no": "档案编号", "status": "状态", "name": "姓名", "sex": "性别", "birth_date": "出生日期",
               "id_type": "证件类型", "id_number": "证件号码", "phone": "本人电话", "village_code": "村（居）委会",
               "institution_code": "管理机构", "termination_reason": "终止原因", "termination_date": "终止日期",
               "termination_cause": "死亡原因", "termination_destination": "迁往地",
               "termination_handover": "档案交接情况", "termination_note": "失访情况说明", "merged_into": "并入档案",
               "merged_archive_nos": "并入的档案", "residence_type": "常住类型", "ethnicity": "民族",
               "ethnicity_name": "民族名称", "archive_source": "建档来源", "consent": "知情同意",
               "consent_date": "同意日期", "archive_date": "建档日期", "responsible_doctor": "责任医生",
               "guardian_archive_no": "监护人档案", "guardian_id_type": "监护人证件类型",
               "guardian_id_number": "监护人证件号码", "contact_phone": "联系人电话", "current_address": "现住址",
               "registered_address": "户籍地址", "employer": "工作单位", "contact_name": "联系人姓名"}
IDENTITY_FIELDS = ("name", "sex", "birth_date", "id_type", "id_number", "phone", "residence_type", "current_address",
                   "registered_address", "responsible_doctor", "employer", "contact_name", "contact_phone")
# The fields each form lays its errors beside (others are said at the form's top).
PLACED = {"terminate": ("reason", "date", *TERMINATION_DETAILS), "reactivate": ("reason",),
          "transfer": ("to_village_code", "to_institution_code", "reason"), "merge": ("merged_archive_no", "reason")}
NAMES = {"PLACED": PLACED, "FIELD_NAMES": FIELD_NAMES, "TERMINATION_REASONS": TERMINATION_REASONS, "TERMINATION_DETAILS": TERMINATION_DETAILS,
         "TRANSFER_STATUS": TRANSFER_STATUS, "REVISION_ACTIONS": REVISION_ACTIONS}


def _text(c: PageCall, name: str) -> str:
    return (c.form.get(name) or "").strip()


def _filled(c: PageCall, *names: str) -> dict:
    return {name: value for name in names if (value := _text(c, name))}


def _archive_path(c: PageCall, suffix: str = "") -> str:
    return f"/web/archives/{c.path['archive_no']}{suffix}"


def _or_empty(c: PageCall, route: str, action: access.Action, **path):
    """The route's answer if the role may read it, else nothing (the page leaves the part out)."""
    if not c.may(action):
        return None
    try:
        return c.api(route, **path)
    except EhrError as exc:
        if exc.status in (403, 404):  # a grant does not open it, say: the part is left out
            return None
        raise


# -- the archive's life: one page, a form for each change the role may make -----------------------------


def lifecycle_page(c: PageCall, status: int = 200, errors: dict | None = None, failed: str | None = None,
                   values: dict | None = None, problem: str | None = None):
    archive_no = c.path["archive_no"]
    archive = c.api("get_archive", archive_no=archive_no)
    transfers = _or_empty(c, "list_archive_transfers", access.TRANSFERS_LIST, archive_no=archive_no) or []
    merges = _or_empty(c, "list_merges", access.MERGES_LIST, archive_no=archive_no) or []
    duplicates = []
    if archive["status"] == "active" and c.may(access.ARCHIVE_MERGE):
        answer = _or_empty(c, "possible_duplicates", access.DUPLICATES_REVIEW, archive_no=archive_no)
        duplicates = (answer or {}).get("possible_duplicates", [])
    termination = archive.get("termination") or {}
    return c.render(
        "lifecycle.html", status=status, archive=archive, transfers=transfers, merges=merges, duplicates=duplicates,
        may_terminate=archive["status"] == "active" and c.may(access.ARCHIVE_TERMINATE),
        may_reactivate=(archive["status"] == "terminated" and termination.get("reason") != "death"
                        and c.may(access.ARCHIVE_REACTIVATE)),
        may_transfer=archive["status"] == "active" and c.may(access.TRANSFER_REQUEST)
        and not any(t["status"] == "requested" for t in transfers),
        may_cancel_transfer=c.may(access.TRANSFER_CANCEL),
        may_merge=archive["status"] == "active" and c.may(access.ARCHIVE_MERGE),
        may_unmerge=c.may(access.ARCHIVE_UNMERGE),
        villages=_villages_anywhere(c) if c.may(access.TRANSFER_REQUEST) else [],
        institutions=_institutions(c), errors=errors or {}, failed=failed, values=values or {}, problem=problem,
        today=date.today().isoformat(), done=c.request.args.get("done"), **NAMES)


def _villages_anywhere(c: PageCall) -> list[dict]:
    """Every village the suite knows (a transfer goes out of the caller's jurisdiction)."""
    return c.api("list_villages") if c.may(access.VILLAGES_LIST) else []


def _institutions(c: PageCall) -> dict[str, str]:
    return {i["code"]: i["name"] for i in c.api("list_institutions")} if c.may(access.INSTITUTIONS_LIST) else {}


def _change(c: PageCall, failed: str, route: str, body: dict, done: str, **path):
    """Run `route`; its field errors beside the form `failed`, a refusal of the archive's state
    (409, 422) at its top; else back to the page, saying what was done."""
    try:
        c.api(route, body=body, **path)
    except ValidationFailed as exc:
        return lifecycle_page(c, 400, flatten_errors(exc.details), failed, body)
    except EhrError as exc:
        if exc.status in (409, 422):
            return lifecycle_page(c, exc.status, {}, failed, body, problem=exc.message)
        raise
    return c.redirect(_archive_path(c, f"/lifecycle?done={done}"))


def terminate(c: PageCall):
    body = _filled(c, "reason", "date", *TERMINATION_DETAILS)
    return _change(c, "terminate", "terminate_archive", body, "terminated", archive_no=c.path["archive_no"])


def reactivate(c: PageCall):
    return _change(c, "reactivate", "reactivate_archive", {"reason": _text(c, "reason")}, "reactivated",
                   archive_no=c.path["archive_no"])


def request_transfer(c: PageCall):
    body = _filled(c, "to_village_code", "to_institution_code", "reason")
    return _change(c, "transfer", "request_transfer", body, "transfer_requested", archive_no=c.path["archive_no"])


def cancel_transfer(c: PageCall):
    body = _filled(c, "reason")
    return _change(c, f"cancel:{c.path['transfer_id']}", "cancel_transfer", body, "transfer_cancelled",
                   transfer_id=c.path["transfer_id"])


def merge(c: PageCall):
    body = {"surviving_archive_no": c.path["archive_no"], "reason": _text(c, "reason"),
            "merged_archive_no": _text(c, "merged_archive_no") or _text(c, "merged_archive_no_typed")}
    return _change(c, "merge", "merge_archives", {k: v for k, v in body.items() if v}, "merged")


def unmerge(c: PageCall):
    return _change(c, f"unmerge:{c.path['merge_id']}", "unmerge_archives", {"reason": _text(c, "reason")},
                   "unmerged", merge_id=c.path["merge_id"])


# -- transfers waiting for the caller's institution (迁入) ------------------------------------------------


def transfers_page(c: PageCall, status: int = 200, errors: dict | None = None, failed: int | None = None,
                   problem: str | None = None):
    shown = (c.request.args.get("status") or "requested").strip()
    query = {"limit": 100, **({"status": shown} if shown in TRANSFER_STATUS else {})}
    try:
        transfers, query_errors = c.api("list_incoming_transfers", query=query), {}
    except ValidationFailed as exc:
        transfers, query_errors = [], flatten_errors(exc.details)
    villages = {v["code"]: v["name"] for v in c.api("list_villages")} if c.may(access.VILLAGES_LIST) else {}
    return c.render("transfers.html", status=status, transfers=transfers, shown=shown, query_errors=query_errors,
                    villages=villages, institutions=_institutions(c), errors=errors or {}, failed=failed,
                    problem=problem, done=c.request.args.get("done"),
                    accepted_no=c.request.args.get("archive_no", "")[:17], **NAMES)


def _decide(c: PageCall, route: str, body: dict | None, done: str):
    transfer_id = c.path["transfer_id"]
    try:
        answer = c.api(route, body=body, transfer_id=transfer_id)
    except ValidationFailed as exc:
        return transfers_page(c, 400, flatten_errors(exc.details), transfer_id)
    except EhrError as exc:
        if exc.status in (409, 422):
            return transfers_page(c, exc.status, {}, transfer_id, exc.message)
        raise
    if done == "accepted":
        return c.redirect(f"/web/transfers?done=accepted&archive_no={answer['archive']['archive_no']}")
    return c.redirect(f"/web/transfers?done={done}")


def accept_transfer(c: PageCall):
    return _decide(c, "accept_transfer", None, "accepted")


def reject_transfer(c: PageCall):
    return _decide(c, "reject_transfer", {"reason": _text(c, "reason")}, "rejected")


# -- correcting the identity ----------------------------------------------------------------------------


def _identity_values(archive: dict) -> dict:
    return {name: "" if archive.get(name) is None else str(archive.get(name)) for name in IDENTITY_FIELDS}


def identity_page(c: PageCall, status: int = 200, errors: dict | None = None, values: dict | None = None,
                  problem: str | None = None):
    archive = c.api("get_archive", archive_no=c.path["archive_no"])
    revisions = c.api("list_revisions", archive_no=c.path["archive_no"]) if c.may(access.REVISIONS_LIST) else []
    return c.render("identity.html", status=status, archive=archive, revisions=revisions,
                    values=values or _identity_values(archive), errors=errors or {}, problem=problem,
                    correctable=c.may(access.ARCHIVE_UPDATE), done=c.request.args.get("done"), **NAMES)


def correct_identity(c: PageCall):
    archive = c.api("get_archive", archive_no=c.path["archive_no"])
    current = _identity_values(archive)
    values = {name: _text(c, name) for name in IDENTITY_FIELDS}
    # what changed: a field shown with its value and left as it was is not sent; the ID number and
    # phones are never shown (masked), so one typed in is a change
    changes = {name: value for name, value in values.items() if value and value != current.get(name)}
    body = {**changes, **({"reason": _text(c, "reason")} if _text(c, "reason") else {})}
    if not changes:
        return identity_page(c, 400, {"": ["没有修改任何内容。"]}, {**values, "reason": _text(c, "reason")})
    try:
        c.api("update_identity", body=body, archive_no=c.path["archive_no"])
    except ValidationFailed as exc:
        return identity_page(c, 400, flatten_errors(exc.details), {**values, "reason": _text(c, "reason")})
    except EhrError as exc:
        if exc.status in (409, 422):
            return identity_page(c, exc.status, {}, {**values, "reason": _text(c, "reason")}, problem=exc.message)
        raise
    return c.redirect(_archive_path(c, "/identity?done=1"))


_ARCHIVE = "/web/archives/<string:archive_no>"
PAGES = (
    Page("GET", f"{_ARCHIVE}/lifecycle", "lifecycle", lifecycle_page),
    Page("POST", f"{_ARCHIVE}/termination", "terminate_archive", terminate),
    Page("POST", f"{_ARCHIVE}/reactivation", "reactivate_archive", reactivate),
    Page("POST", f"{_ARCHIVE}/transfers", "request_transfer", request_transfer),
    Page("POST", f"{_ARCHIVE}/transfers/<int:transfer_id>/cancel", "cancel_transfer", cancel_transfer),
    Page("POST", f"{_ARCHIVE}/merges", "merge_archives", merge),
    Page("POST", f"{_ARCHIVE}/merges/<int:merge_id>/unmerge", "unmerge_archives", unmerge),
    Page("GET", f"{_ARCHIVE}/identity", "identity", identity_page),
    Page("POST", f"{_ARCHIVE}/identity", "correct_identity", correct_identity),
    Page("GET", "/web/transfers", "transfers", transfers_page),
    Page("POST", "/web/transfers/<int:transfer_id>/accept", "accept_transfer", accept_transfer),
    Page("POST", "/web/transfers/<int:transfer_id>/reject", "reject_transfer", reject_transfer),
)
