"""The referral's state machine (`services.referrals.lifecycle`): every allowed transition leads
where the 双向转诊 rules say, every other (state, action) pair is refused with a 409 naming both
the state and the action, each action belongs to its side, and the deadlines are 24 hours for
urgent requests and 3 days otherwise."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.errors import Conflict, NotFound
from services.referrals import lifecycle as lc

ALLOWED = {
    ("draft", "send"): "requested",
    ("draft", "cancel"): "cancelled",
    ("requested", "accept"): "accepted",
    ("requested", "reject"): "rejected",
    ("requested", "expire"): "expired",
    ("requested", "cancel"): "cancelled",
    ("accepted", "arrive"): "arrived",
    ("arrived", "back_refer"): "back_referred",
    ("arrived", "close"): "closed",
}
REFUSED = [(state, action) for state in lc.STATES for action in lc.ACTIONS if (state, action) not in ALLOWED]


@pytest.mark.parametrize("state,action", sorted(ALLOWED))
def test_every_allowed_transition_leads_where_the_rules_say(state, action):
    assert lc.next_state(state, action) == ALLOWED[(state, action)]


@pytest.mark.parametrize("state,action", REFUSED)
def test_every_other_transition_is_a_conflict_naming_both_states(state, action):
    with pytest.raises(Conflict) as refused:
        lc.next_state(state, action)
    assert refused.value.status == 409
    assert refused.value.details["state"] == state and refused.value.details["action"] == action
    assert state in refused.value.message and action in refused.value.message
    assert refused.value.details["allowed_from"] == sorted(s for (s, a) in ALLOWED if a == action)


def test_the_table_is_the_one_tested():
    assert lc.TRANSITIONS == ALLOWED
    assert len(REFUSED) == len(lc.STATES) * len(lc.ACTIONS) - len(ALLOWED)


def test_final_states_allow_nothing_and_open_ones_are_the_access_window():
    for state in lc.FINAL:
        assert not any(s == state for s, _ in ALLOWED)
    assert lc.OPEN == {"requested", "accepted", "arrived"}
    assert not lc.is_open("back_referred") and not lc.is_open("closed") and lc.is_open("arrived")


def test_a_second_racing_answer_finds_the_first_ones_state():
    first = lc.next_state("requested", "accept")
    with pytest.raises(Conflict, match="the referral is accepted; reject needs it requested"):
        lc.next_state(first, "reject")


@pytest.mark.parametrize("action,side", [("send", "sender"), ("cancel", "sender"), ("accept", "receiver"),
                                         ("reject", "receiver"), ("arrive", "receiver"), ("arrive", "system"),
                                         ("back_refer", "receiver"), ("close", "receiver"), ("expire", "system")])
def test_each_action_belongs_to_its_side(action, side):
    assert lc.require_side(action, {side}) == side


@pytest.mark.parametrize("action,side", [("accept", "sender"), ("cancel", "receiver"), ("expire", "receiver"),
                                         ("expire", "sender"), ("back_refer", "sender"), ("send", "receiver")])
def test_the_wrong_side_is_refused_naming_who_may(action, side):
    with pytest.raises(Conflict) as refused:
        lc.require_side(action, {side})
    assert refused.value.details == {"action": action, "sides": [side]}


def test_a_caller_on_no_side_is_told_there_is_no_such_referral():
    with pytest.raises(NotFound):
        lc.require_side("accept", set(), 7)


def test_deadlines_are_24_hours_urgent_and_3_days_otherwise():
    at = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
    assert lc.deadline("urgent", at) == at + timedelta(hours=24)
    assert lc.deadline("routine", at) == at + timedelta(days=3)


def test_every_resulting_state_but_a_draft_is_announced():
    assert set(lc.EVENT_OF) == set(lc.STATES) - {"draft"}
