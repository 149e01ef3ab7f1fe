"""Operators' pages: the quarantine of messages that could not be filed, and the encounters
pending an archive.

The quarantine runs `list_quarantine`, `show_quarantined`, `replay_quarantined` and
`discard_quarantined`: a message is shown as the API answers it (its reason, the fields that
failed, and the body's whitelist with identifiers masked and the rest as shapes, never more).
It is replayed as it was, or corrected (the message as the hospital sends it again, pasted as
JSON), or discarded with a note; both only while it is held.

Pending encounters: an operator sees them all (`list_pending`) with their candidates (archive
numbers, scores and reasons, no names) and proposes one archive (`propose_link`, nothing is
filed); a township doctor or an archive manager sees what was proposed into their jurisdiction
(`list_link_proposals`) and files it (`link_pending`, the archive in their own scope). Which of
the two a user gets is the access matrix's (`PENDING_LIST`, `PENDING_PROPOSALS`), as the API
splits it; a role with neither is refused (403), as the API refuses it.
"""

from __future__ import annotations

import json

from shared.errors import EhrError, ValidationFailed

from services.gateway import access
from services.gateway.access import Forbidden
from services.gateway.web.forms import flatten_errors
from services.gateway.web.page import Page, PageCall

PAGE_SIZE = 25
STATUSES = ("held", "replayed", "discarded", "all")


def _args(c: PageCall, *names: str) -> dict:
    return {name: value for name in names if (value := (c.request.args.get(name) or "").strip())}


# -- the quarantine -------------------------------------------------------------------------------


def quarantine(c: PageCall):
    filters = _args(c, "status", "reason", "cursor")
    try:
        page, errors = c.api("list_quarantine", query={**filters, "limit": PAGE_SIZE}), {}
    except ValidationFailed as exc:
        page, errors = {"items": [], "next": None}, flatten_errors(exc.details)
    return c.render("quarantine.html", page=page, filters=filters, errors=errors, statuses=STATUSES)


def quarantined(c: PageCall, status: int = 200, errors: dict | None = None, failed: str | None = None,
                corrected: str = "", note: str = ""):
    entry = c.api("show_quarantined", quarantine_id=c.path["quarantine_id"])
    return c.render("quarantined.html", status=status, entry=entry, errors=errors or {}, failed=failed,
                    corrected=corrected, note=note, done=c.request.args.get("done"),
                    body_json=json.dumps(entry.get("body"), ensure_ascii=False, indent=2),
                    details_json=json.dumps(entry.get("details") or {}, ensure_ascii=False, indent=2))


def _said(exc: EhrError) -> dict:
    return {"": [exc.message]}


def replay(c: PageCall):
    text = (c.form.get("corrected") or "").strip()
    body: dict = {}
    if text:
        try:
            body["corrected"] = json.loads(text)
        except ValueError:
            return quarantined(c, 400, {"corrected": ["不是有效的 JSON。"]}, "replay", text)
        if not isinstance(body["corrected"], dict):
            return quarantined(c, 400, {"corrected": ["须是一个 JSON 对象。"]}, "replay", text)
    try:
        c.api("replay_quarantined", body=body, quarantine_id=c.path["quarantine_id"])
    except ValidationFailed as exc:
        errors = flatten_errors(exc.details)
        return quarantined(c, 400, {"corrected": [f"{k}：{'；'.join(v)}" if k else "；".join(v)
                                                  for k, v in errors.items()]}, "replay", text)
    except EhrError as exc:
        if exc.status == 422:  # no longer held
            return quarantined(c, 422, _said(exc), "replay", text)
        raise
    return c.redirect(f"/web/quarantine/{c.path['quarantine_id']}?done=replayed")


def discard(c: PageCall):
    note = (c.form.get("note") or "").strip()
    try:
        c.api("discard_quarantined", body={"note": note}, quarantine_id=c.path["quarantine_id"])
    except ValidationFailed as exc:
        return quarantined(c, 400, flatten_errors(exc.details), "discard", note=note)
    except EhrError as exc:
        if exc.status == 422:
            return quarantined(c, 422, _said(exc), "discard", note=note)
        raise
    return c.redirect(f"/web/quarantine/{c.path['quarantine_id']}?done=discarded")


# -- pending encounters ---------------------------------------------------------------------------


def pending(c: PageCall, status: int = 200, errors: dict | None = None, failed: int | None = None,
            values: dict | None = None):
    operator, matcher = c.may(access.PENDING_LIST), c.may(access.PENDING_PROPOSALS)
    if not (operator or matcher):
        raise Forbidden("your role may not do this", {"role": c.caller.role, "action": access.PENDING_LIST.name})
    filters = _args(c, "cursor")
    route = "list_pending" if operator else "list_link_proposals"
    try:
        page, query_errors = c.api(route, query={**filters, "limit": PAGE_SIZE}), {}
    except ValidationFailed as exc:
        page, query_errors = {"items": [], "next": None}, flatten_errors(exc.details)
    return c.render("pending.html", status=status, page=page, operator=operator, errors=errors or {},
                    query_errors=query_errors, failed=failed, values=values or {},
                    done=c.request.args.get("done"))


def _decide(c: PageCall, route: str, done: str):
    archive_no = (c.form.get("archive_no") or "").strip()
    pending_id = c.path["pending_id"]
    try:
        c.api(route, body={"archive_no": archive_no}, pending_id=pending_id)
    except ValidationFailed as exc:
        return pending(c, 400, flatten_errors(exc.details), pending_id, {"archive_no": archive_no})
    except EhrError as exc:
        if exc.status in (404, 422):  # the archive is not yours, or the encounter is settled
            message = "档案不存在或不在您的管辖范围内。" if exc.status == 404 else exc.message
            return pending(c, exc.status, {"archive_no": [message]}, pending_id, {"archive_no": archive_no})
        raise
    return c.redirect(f"/web/pending?done={done}")


def propose(c: PageCall):
    return _decide(c, "propose_link", "proposed")


def link(c: PageCall):
    return _decide(c, "link_pending", "linked")


_ENTRY = "/web/quarantine/<int:quarantine_id>"
PAGES = (
    Page("GET", "/web/quarantine", "quarantine", quarantine),
    Page("GET", _ENTRY, "quarantined", quarantined),
    Page("POST", f"{_ENTRY}/replay", "replay_quarantined", replay),
    Page("POST", f"{_ENTRY}/discard", "discard_quarantined", discard),
    Page("GET", "/web/pending", "pending", pending),
    Page("POST", "/web/pending/<int:pending_id>/proposal", "propose_link", propose),
    Page("POST", "/web/pending/<int:pending_id>/link", "link_pending", link),
)
