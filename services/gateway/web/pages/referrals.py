"""Referrals (双向转诊) and consultations (会诊): the inbox (received and sent, by state, the
overdue requests flagged, paged), a referral with its history (who, when, why) and the moves the
caller's side may make on it, the 转出单 from an archive's page; consultations requested and
answered likewise.

Each runs the referral routes (`list_referrals`, `get_referral`, `create_referral`,
`send_referral`, `cancel_referral`, `accept_referral`, `reject_referral`, `mark_arrived`,
`back_refer`, `close_referral`, `referral_records`; `list_consultations`, `get_consultation`,
`request_consultation`, `answer_consultation`) as the signed-in user: the inbox holds what the
API answers the caller's institution, a referral on neither side is a 404 page, and a move the
state does not allow is the API's 409, said beside the form that asked for it. What a page offers
follows the referral's state and the caller's side (`MOVES`, the referral lifecycle's table as
the page sees it) and the access matrix (`c.may`); the API call decides.

The receiver of an open referral reads the records it names through `referral_records` (audited
as `referral:<id>`), not through the archive, which stays closed to it.
"""

from __future__ import annotations

from shared.errors import Conflict, EhrError, NotFound, ValidationFailed

from services.gateway import access
from services.gateway.web.forms import flatten_errors
from services.gateway.web.page import Page, PageCall

PAGE_SIZE = 20
BOXES = {"inbox": "收到的", "sent": "发出的"}
STATES = {"draft": "草稿", "requested": "待接收", "accepted": "已接收", "rejected": "已拒绝", "expired": "已超时",
          "cancelled": "已撤销", "arrived": "已到达", "back_referred": "已回转", "closed": "已结束"}
OPEN = ("requested", "accepted", "arrived")
URGENCY = {"routine": "普通", "urgent": "紧急"}
STEPS = {"suggest": "随访建议转诊（草稿）", "send": "发出转诊", "cancel": "撤销", "accept": "接收", "reject": "拒绝",
         "expire": "超时未接收", "arrive": "患者已到达", "back_refer": "回转", "close": "结束转诊"}
CONSULTATION_STATES = {"requested": "待答复", "answered": "已答复"}
SENDER, RECEIVER = "sender", "receiver"

# The moves a page offers: (its path under the referral, the API route, the side that makes it,
# the states it is made from, the action the matrix rules on). The referrals service's lifecycle
# decides (a 409 otherwise); this only keeps a page from offering what cannot be done.
MOVES = {
    "send": ("send_referral", SENDER, ("draft",), access.REFERRAL_SEND),
    "cancel": ("cancel_referral", SENDER, ("draft", "requested"), access.REFERRAL_CANCEL),
    "accept": ("accept_referral", RECEIVER, ("requested",), access.REFERRAL_ACCEPT),
    "reject": ("reject_referral", RECEIVER, ("requested",), access.REFERRAL_REJECT),
    "arrived": ("mark_arrived", RECEIVER, ("accepted",), access.REFERRAL_ARRIVED),
    "back-referral": ("back_refer", RECEIVER, ("arrived",), access.REFERRAL_BACK_REFER),
    "close": ("close_referral", RECEIVER, ("arrived",), access.REFERRAL_CLOSE),
}
REASON_FIELDS = ("impression", "present_illness", "past_history", "treatment")
BACK_FIELDS = ("diagnosis", "findings", "treatment", "plan", "doctor")
NAMES = {"REFERRAL_STATES": STATES, "URGENCY": URGENCY, "STEPS": STEPS, "BOXES": BOXES,
         "CONSULTATION_STATES": CONSULTATION_STATES}


def _text(c: PageCall, name: str) -> str:
    return (c.form.get(name) or "").strip()


def _filled(c: PageCall, *names: str) -> dict:
    return {name: value for name in names if (value := _text(c, name))}


def field_errors(exc: ValidationFailed) -> dict[str, list[str]]:
    """The API's field errors by the page's field names: the referral service's `payload.` and the
    转出单's `reason.` dropped (`payload.reason.impression` -> `impression`)."""
    errors: dict[str, list[str]] = {}
    for path, messages in flatten_errors(exc.details).items():
        for prefix in ("payload.", "reason."):
            path = path.removeprefix(prefix)
        errors.setdefault(path, []).extend(messages)
    return errors


def _institutions(c: PageCall) -> dict[str, str]:
    return {i["code"]: i["name"] for i in c.api("list_institutions")} if c.may(access.INSTITUTIONS_LIST) else {}


def _receivers(c: PageCall) -> list[tuple[str, str]]:
    """The institutions one may refer to or consult: all but one's own."""
    return [(code, name) for code, name in _institutions(c).items() if code != c.caller.institution_code]


def _attachable(c: PageCall, archive_no: str) -> list[dict]:
    """The archive's latest records that a referral or a consultation may name (not the referral
    forms themselves, nor a record entered in error)."""
    if not c.may(access.RECORDS_LIST):
        return []
    items = c.api("list_records", query={"limit": 30}, archive_no=archive_no)["items"]
    return [r for r in items if r.get("status") != "entered_in_error"
            and r.get("record_type") not in ("referral_out", "referral_back", "attachment")][:20]


def _args(c: PageCall, *names: str) -> dict:
    return {name: value for name in names if (value := (c.request.args.get(name) or "").strip())}


# -- the inbox ----------------------------------------------------------------------------------------


def inbox(c: PageCall):
    filters = _args(c, "box", "state", "overdue", "cursor")
    box = filters.get("box") if filters.get("box") in BOXES else "inbox"
    query = {"box": box, "limit": PAGE_SIZE}
    if filters.get("state") in STATES:
        query["state"] = filters["state"]
    if filters.get("overdue") == "1":
        query["overdue"] = True
    if filters.get("cursor"):
        query["cursor"] = filters["cursor"]
    try:
        page, errors = c.api("list_referrals", query=query), {}
    except ValidationFailed as exc:
        page, errors = {"items": [], "next": None}, flatten_errors(exc.details)
    kept = {k: v for k, v in filters.items() if k != "cursor"}
    return c.render("referrals.html", page=page, box=box, filters=kept, errors=errors,
                    institutions=_institutions(c), **NAMES)


# -- one referral -------------------------------------------------------------------------------------


def _sides(c: PageCall, referral: dict) -> set[str]:
    mine = c.caller.institution_code
    sides = set()
    if referral["from_institution_code"] == mine:
        sides.add(SENDER)
    if referral.get("to_institution_code") == mine and referral["state"] != "draft":
        sides.add(RECEIVER)
    return sides


def offered(c: PageCall, referral: dict) -> list[str]:
    """The moves this page offers the caller on `referral`, in `MOVES`' order."""
    sides = _sides(c, referral)
    return [move for move, (_, side, states, action) in MOVES.items()
            if side in sides and referral["state"] in states and c.may(action)]


def _named_records(c: PageCall, referral: dict, sides: set[str]) -> tuple[list[dict], bool]:
    """The records the referral names as the caller may see them, and whether they are opened by
    the referral (the receiver's, while it is open) rather than by the archive (the sender's)."""
    if RECEIVER in sides and referral["state"] in OPEN and c.may(access.REFERRAL_RECORDS):
        try:
            return c.api("referral_records", referral_id=referral["referral_id"])["items"], True
        except EhrError:
            return [], True
    return [], False


def referral_page(c: PageCall, status: int = 200, errors: dict | None = None, failed: str | None = None,
                  values: dict | None = None, conflict: str | None = None):
    referral = c.api("get_referral", referral_id=c.path["referral_id"])
    sides = _sides(c, referral)
    records, through_referral = _named_records(c, referral, sides)
    return c.render("referral.html", status=status, referral=referral, sides=sides, moves=offered(c, referral),
                    records=records, through_referral=through_referral, institutions=_institutions(c),
                    receivers=_receivers(c) if "send" in offered(c, referral) else [],
                    errors=errors or {}, failed=failed, values=values or {}, conflict=conflict,
                    done=c.request.args.get("done"), **NAMES)


def _move_body(c: PageCall, move: str) -> dict:
    if move in ("cancel", "reject", "close"):
        return {"reason": _text(c, "reason")}
    if move in ("accept", "arrived"):
        return _filled(c, "note")
    if move == "back-referral":
        return _filled(c, *BACK_FIELDS)
    body = _filled(c, "to_institution_code", "to_department", "to_doctor", "urgency")  # send a draft
    reason = _filled(c, *REASON_FIELDS)
    if reason:
        body["reason"] = reason
    return body


def move(c: PageCall):
    name = c.path["move"]
    if name not in MOVES:
        raise NotFound("no such referral action", {"action": name[:32]})
    route = MOVES[name][0]
    body = _move_body(c, name)
    try:
        c.api(route, body=body, referral_id=c.path["referral_id"])
    except ValidationFailed as exc:
        return referral_page(c, 400, field_errors(exc), name, body)
    except Conflict as exc:  # the state moved on (another answer came first): said beside the form
        return referral_page(c, 409, {}, name, body, conflict=exc.message)
    return c.redirect(f"/web/referrals/{c.path['referral_id']}?done={name}")


# -- a new referral (转出单), from an archive's page ------------------------------------------------------


def _new_referral_page(c: PageCall, status: int = 200, values: dict | None = None, errors: dict | None = None):
    archive = c.api("get_archive", archive_no=c.path["archive_no"])
    return c.render("referral_new.html", status=status, archive=archive, receivers=_receivers(c),
                    records=_attachable(c, archive["archive_no"]), values=values or {"urgency": "routine"},
                    chosen=set(c.form.getlist("record_ids")) if c.request.method == "POST" else set(),
                    errors=errors or {}, **NAMES)


def new_referral(c: PageCall):
    return _new_referral_page(c)


def create_referral(c: PageCall):
    values = _filled(c, "to_institution_code", "to_department", "to_doctor", "urgency", *REASON_FIELDS)
    body = {"archive_no": c.path["archive_no"], "reason": {k: values[k] for k in REASON_FIELDS if k in values},
            "record_ids": [r for r in c.form.getlist("record_ids") if r],
            **{k: values[k] for k in ("to_institution_code", "to_department", "to_doctor", "urgency") if k in values}}
    try:
        referral = c.api("create_referral", body=body)
    except ValidationFailed as exc:
        return _new_referral_page(c, 400, values, field_errors(exc))
    return c.redirect(f"/web/referrals/{referral['referral_id']}?done=created")


# -- consultations --------------------------------------------------------------------------------------


def consultations(c: PageCall):
    filters = _args(c, "box", "state", "cursor")
    box = filters.get("box") if filters.get("box") in BOXES else "inbox"
    query = {"box": box, "limit": PAGE_SIZE}
    if filters.get("state") in CONSULTATION_STATES:
        query["state"] = filters["state"]
    if filters.get("cursor"):
        query["cursor"] = filters["cursor"]
    try:
        page, errors = c.api("list_consultations", query=query), {}
    except ValidationFailed as exc:
        page, errors = {"items": [], "next": None}, flatten_errors(exc.details)
    kept = {k: v for k, v in filters.items() if k != "cursor"}
    return c.render("consultations.html", page=page, box=box, filters=kept, errors=errors,
                    institutions=_institutions(c), **NAMES)


CONSULTANT_ROWS = 3


def consultation_page(c: PageCall, status: int = 200, errors: dict | None = None, values: dict | None = None):
    consultation = c.api("get_consultation", consultation_id=c.path["consultation_id"])
    answerable = (consultation["state"] == "requested" and c.may(access.CONSULTATION_ANSWER)
                  and consultation["to_institution_code"] == c.caller.institution_code)
    return c.render("consultation.html", status=status, consultation=consultation, answerable=answerable,
                    institutions=_institutions(c), errors=errors or {}, values=values or {},
                    rows=range(CONSULTANT_ROWS), known=["opinion", *(f"consultants.{i}.{k}" for i in range(
                        CONSULTANT_ROWS) for k in ("institution", "doctor"))], done=c.request.args.get("done"), **NAMES)


def answer_consultation(c: PageCall):
    consultants = []
    for i in range(CONSULTANT_ROWS):
        row = _filled(c, f"consultants.{i}.institution", f"consultants.{i}.doctor")
        if row:
            consultants.append({key.rsplit(".", 1)[1]: value for key, value in row.items()})
    body = {"opinion": _text(c, "opinion"), "consultants": consultants}
    values = {"opinion": body["opinion"], **_filled(c, *(f"consultants.{i}.{k}" for i in range(CONSULTANT_ROWS)
                                                         for k in ("institution", "doctor")))}
    try:
        c.api("answer_consultation", body=body, consultation_id=c.path["consultation_id"])
    except ValidationFailed as exc:
        return consultation_page(c, 400, field_errors(exc), values)
    except Conflict as exc:
        return consultation_page(c, 409, {"": [exc.message]}, values)
    return c.redirect(f"/web/consultations/{c.path['consultation_id']}?done=answered")


def _new_consultation_page(c: PageCall, status: int = 200, values: dict | None = None, errors: dict | None = None):
    archive = c.api("get_archive", archive_no=c.path["archive_no"])
    return c.render("consultation_new.html", status=status, archive=archive, receivers=_receivers(c),
                    records=_attachable(c, archive["archive_no"]), values=values or {},
                    chosen=set(c.form.getlist("record_ids")) if c.request.method == "POST" else set(),
                    errors=errors or {}, **NAMES)


def new_consultation(c: PageCall):
    return _new_consultation_page(c)


def request_consultation(c: PageCall):
    values = _filled(c, "to_institution_code", "to_doctor", "question")
    body = {"archive_no": c.path["archive_no"], "record_ids": [r for r in c.form.getlist("record_ids") if r],
            "question": values.get("question", ""), **{k: values[k] for k in ("to_institution_code", "to_doctor")
                                                        if k in values}}
    if not body["question"]:
        body.pop("question")
    try:
        consultation = c.api("request_consultation", body=body)
    except ValidationFailed as exc:
        return _new_consultation_page(c, 400, values, field_errors(exc))
    return c.redirect(f"/web/consultations/{consultation['consultation_id']}?done=requested")


_REFERRAL = "/web/referrals/<int:referral_id>"
PAGES = (
    Page("GET", "/web/referrals", "referrals", inbox),
    Page("GET", _REFERRAL, "referral", referral_page),
    Page("POST", f"{_REFERRAL}/<string:move>", "referral_move", move),
    Page("GET", "/web/archives/<string:archive_no>/referrals/new", "new_referral", new_referral),
    Page("POST", "/web/archives/<string:archive_no>/referrals/new", "create_referral", create_referral),
    Page("GET", "/web/consultations", "consultations", consultations),
    Page("GET", "/web/consultations/<int:consultation_id>", "consultation", consultation_page),
    Page("POST", "/web/consultations/<int:consultation_id>/answer", "answer_consultation", answer_consultation),
    Page("GET", "/web/archives/<string:archive_no>/consultations/new", "new_consultation", new_consultation),
    Page("POST", "/web/archives/<string:archive_no>/consultations/new", "request_consultation",
         request_consultation),
)
