"""The referral and lifecycle pages' own logic (services/gateway/web/pages/referrals.py,
lifecycle.py): which moves a page offers by side, state and role; the API's field errors by the
page's field names; and each page's template with a label for every input and the overdue flag."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from shared.errors import ValidationFailed

from services.gateway import access
from services.gateway.web.page import templates
from services.gateway.web.pages import lifecycle, referrals

TOWNSHIP, HOSPITAL = "T1101051011", "H1101050002"


def _call(role: str, institution: str):
    return SimpleNamespace(caller=SimpleNamespace(institution_code=institution, role=role, name="doc"),
                           may=lambda action: access.permits(role, action))


def _referral(state: str, **changes) -> dict:
    return {"referral_id": 7, "archive_no": "11010510110100001", "state": state, "urgency": "urgent",
            "from_institution_code": TOWNSHIP, "to_institution_code": HOSPITAL, "overdue": False,
            "reason": {"impression": "高血压3级"}, "record_ids": [], "history": [], "back_referral": None,
            "requested_at": "2026-11-20T01:00:00+00:00", "deadline_at": "2026-11-21T01:00:00+00:00", **changes}


@pytest.mark.parametrize("state, sender, receiver", [
    ("draft", ["send", "cancel"], []),
    ("requested", ["cancel"], ["accept", "reject"]),
    ("accepted", [], ["arrived"]),
    ("arrived", [], ["back-referral", "close"]),
    ("back_referred", [], []),
    ("rejected", [], []),
])
def test_each_side_is_offered_only_its_moves_in_each_state(state, sender, receiver):
    assert referrals.offered(_call("township_doctor", TOWNSHIP), _referral(state)) == sender
    assert referrals.offered(_call("township_doctor", HOSPITAL), _referral(state)) == receiver
    assert referrals.offered(_call("township_doctor", "V1101051011"), _referral(state)) == []  # neither side


def test_a_role_the_matrix_refuses_is_offered_nothing():
    assert referrals.offered(_call("supervisor", TOWNSHIP), _referral("draft")) == []
    assert referrals.offered(_call("supervisor", HOSPITAL), _referral("requested")) == []


def test_the_referral_services_errors_are_laid_beside_the_pages_fields():
    exc = ValidationFailed("invalid", {"payload": {"reason": {"impression": ["Missing data for required field."]},
                                                   "to_institution_code": ["Must be another institution."]}})
    assert referrals.field_errors(exc) == {"impression": ["Missing data for required field."],
                                           "to_institution_code": ["Must be another institution."]}


def _labelled(html: str) -> None:
    ids = set(re.findall(r'<(?:input|select|textarea) id="([^"]+)"', html))
    inputs = re.findall(r'<(?:input(?![^>]*type="hidden")|select|textarea)\b[^>]*>', html)
    assert all(' id="' in tag or 'type="radio"' in tag or 'type="checkbox"' in tag for tag in inputs), inputs
    assert ids and ids <= set(re.findall(r'<label[^>]* for="([^"]+)"', html))


BASE = dict(caller=SimpleNamespace(name="doc", institution_code=HOSPITAL, role="township_doctor"), institution=None,
            csrf="x", csrf_field="csrf_token", may=lambda action: True, access=access, request_path="/")


def test_the_referral_page_offers_each_move_with_a_labelled_form_and_csrf():
    html = templates.get_template("referral.html").render(
        referral=_referral("requested"), sides={"receiver"}, moves=list(referrals.MOVES), records=[],
        through_referral=True, institutions={}, receivers=[(TOWNSHIP, "孙河镇卫生院")], errors={}, failed=None,
        values={}, conflict=None, done=None, **referrals.NAMES, **BASE)
    _labelled(html)
    # each move's form and the header's sign-out, every one with its CSRF token
    assert html.count('<form method="post"') == html.count('name="csrf_token"') == len(referrals.MOVES) + 1


def test_a_refusal_of_a_move_no_longer_offered_is_said_at_the_top():
    html = templates.get_template("referral.html").render(
        referral=_referral("accepted"), sides={"receiver"}, moves=["arrived"], records=[], through_referral=True,
        institutions={}, receivers=[], errors={"reason": ["Missing data for required field."]}, failed="reject",
        values={}, conflict="referral is accepted; reject needs requested", done=None, **referrals.NAMES, **BASE)
    assert "referral is accepted; reject needs requested" in html
    assert 'data-field="reason"' in html


def test_an_overdue_request_is_flagged_in_the_inbox():
    html = templates.get_template("referrals.html").render(
        page={"items": [_referral("requested", overdue=True)], "next": "abc"}, box="inbox", filters={}, errors={},
        institutions={TOWNSHIP: "孙河镇卫生院"}, **referrals.NAMES, **BASE)
    assert "data-overdue" in html and "孙河镇卫生院" in html and "cursor=abc" in html


def test_the_lifecycle_pages_label_every_input():
    archive = {"archive_no": "11010510110100001", "name": "张三", "status": "active", "sex": "1",
               "birth_date": "1950-01-01", "village_code": "110105101101", "institution_code": TOWNSHIP,
               "termination": None}
    html = templates.get_template("lifecycle.html").render(
        archive=archive, transfers=[{"transfer_id": 3, "status": "requested", "requested_at": None,
                                     "to_village_code": "110105201101", "to_institution_code": "T1101052011",
                                     "reason": "迁居", "from_archive_no": archive["archive_no"]}],
        merges=[{"merge_id": 4, "merged_archive_no": "11010510110100002", "reason": "重复", "merged_by": "doc",
                 "merged_at": None, "unmerged_at": None}],
        duplicates=[{"archive_no": "11010510110100003", "reasons": ["name"]}], may_terminate=True,
        may_reactivate=False, may_transfer=True, may_cancel_transfer=True, may_merge=True, may_unmerge=True,
        villages=[{"code": "110105201101", "name": "东窑村"}], institutions={"T1101052011": "金盏乡卫生院"},
        errors={"handover": ["Required when the reason is migration_out."]}, failed="terminate", values={},
        problem=None, today="2026-12-01", done=None, **lifecycle.NAMES, **BASE)
    _labelled(html)
    assert 'data-field="handover"' in html
    html = templates.get_template("identity.html").render(
        archive=archive, revisions=[], values=lifecycle._identity_values(archive), errors={}, problem=None,
        correctable=True, done=None, **lifecycle.NAMES, **BASE)
    _labelled(html)
