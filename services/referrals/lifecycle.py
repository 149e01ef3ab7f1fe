"""The referral's states and who may move it between them: the one place the 双向转诊 rules live.

    draft ──send──▶ requested ──accept──▶ accepted ──arrive──▶ arrived ──back_refer──▶ back_referred
      │               │ ├─reject──▶ rejected (with a reason)         └──close──▶ closed
      └─cancel─▶ cancelled ◀─cancel (the sender, before acceptance)
                      └─expire──▶ expired (no answer by the deadline: 24 h urgent, 3 days otherwise)

A draft is a referral the follow-ups suggested (`programmes.referral_suggested`), waiting in the
referring institution's inbox for a doctor to send or discard it. `requested`, `accepted` and
`arrived` are open: the receiver may read the referred archive while one is (`OPEN`). The
others are final, and every move out of a final state is refused.

Each action belongs to a side: the sender (the referring institution), the receiver (the
institution the referral is addressed to) or the suite itself (`system`: the expiry sweep, and a
hospital encounter of the resident at the receiver marking the referral arrived). A refused move
is a 409 naming both states, so two racing answers leave one winner and one clear conflict:

    next_state("requested", "accept")   -> "accepted"
    next_state("accepted", "reject")    -> Conflict("referral is accepted; reject needs requested")
    require_side("accept", {SENDER})    -> Forbidden-like Conflict: only the receiver accepts
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.errors import Conflict, NotFound

DRAFT, REQUESTED, ACCEPTED, REJECTED, EXPIRED = "draft", "requested", "accepted", "rejected", "expired"
CANCELLED, ARRIVED, BACK_REFERRED, CLOSED = "cancelled", "arrived", "back_referred", "closed"
STATES = (DRAFT, REQUESTED, ACCEPTED, REJECTED, EXPIRED, CANCELLED, ARRIVED, BACK_REFERRED, CLOSED)
OPEN = frozenset({REQUESTED, ACCEPTED, ARRIVED})
FINAL = frozenset({REJECTED, EXPIRED, CANCELLED, BACK_REFERRED, CLOSED})

SEND, CANCEL, ACCEPT, REJECT, EXPIRE = "send", "cancel", "accept", "reject", "expire"
ARRIVE, BACK_REFER, CLOSE = "arrive", "back_refer", "close"
ACTIONS = (SEND, CANCEL, ACCEPT, REJECT, EXPIRE, ARRIVE, BACK_REFER, CLOSE)

SENDER, RECEIVER, SYSTEM = "sender", "receiver", "system"

# (state, action) -> the state it leads to; nothing else is allowed.
TRANSITIONS: dict[tuple[str, str], str] = {
    (DRAFT, SEND): REQUESTED,
    (DRAFT, CANCEL): CANCELLED,
    (REQUESTED, ACCEPT): ACCEPTED,
    (REQUESTED, REJECT): REJECTED,
    (REQUESTED, EXPIRE): EXPIRED,
    (REQUESTED, CANCEL): CANCELLED,
    (ACCEPTED, ARRIVE): ARRIVED,
    (ARRIVED, BACK_REFER): BACK_REFERRED,
    (ARRIVED, CLOSE): CLOSED,
}

# Who may take each action. `arrive` is the receiver's (a hospital saying the patient came) or the
# suite's (the resident's encounter at the receiver); `expire` only the suite's.
SIDES: dict[str, frozenset[str]] = {
    SEND: frozenset({SENDER}),
    CANCEL: frozenset({SENDER}),
    ACCEPT: frozenset({RECEIVER}),
    REJECT: frozenset({RECEIVER}),
    EXPIRE: frozenset({SYSTEM}),
    ARRIVE: frozenset({RECEIVER, SYSTEM}),
    BACK_REFER: frozenset({RECEIVER}),
    CLOSE: frozenset({RECEIVER}),
}

# The events each resulting state is announced as (`shared.contracts.events`).
EVENT_OF = {REQUESTED: "referral_requested", ACCEPTED: "referral_accepted", REJECTED: "referral_rejected",
            EXPIRED: "referral_expired", ARRIVED: "referral_arrived", BACK_REFERRED: "referral_back_referred",
            CLOSED: "referral_closed", CANCELLED: "referral_cancelled"}

URGENT_DEADLINE = timedelta(hours=24)
ROUTINE_DEADLINE = timedelta(days=3)
URGENCIES = ("routine", "urgent")  # 普通, 紧急


def next_state(state: str, action: str) -> str:
    """The state `action` leads to from `state`; a 409 naming both states when it is not allowed."""
    if action not in SIDES:
        raise ValueError(f"unknown action {action!r}")
    target = TRANSITIONS.get((state, action))
    if target is None:
        allowed_from = sorted(s for (s, a) in TRANSITIONS if a == action)
        raise Conflict(f"the referral is {state}; {action} needs it {' or '.join(allowed_from)}",
                       {"state": state, "action": action, "allowed_from": allowed_from})
    return target


def require_side(action: str, sides: set[str] | frozenset[str], referral_id: int | None = None) -> str:
    """The side the caller acts on for `action`, among the `sides` it stands on; a caller on no
    side of the referral is told it does not exist (404, as for an unknown one); a caller on the
    wrong side gets a 409 naming who may."""
    if not sides:
        raise NotFound("no such referral", {"referral_id": referral_id})
    allowed = SIDES[action] & set(sides)
    if not allowed:
        who = " or ".join(sorted(SIDES[action]))
        raise Conflict(f"{action} is for the {who}", {"action": action, "sides": sorted(sides)})
    return sorted(allowed)[0]


def deadline(urgency: str, requested_at: datetime) -> datetime:
    """When a request not answered by then expires: 24 hours when urgent, 3 days otherwise."""
    return requested_at + (URGENT_DEADLINE if urgency == "urgent" else ROUTINE_DEADLINE)


def is_open(state: str) -> bool:
    return state in OPEN
