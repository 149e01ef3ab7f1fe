"""What an operator sees of a quarantined referral answer: codes and ids, never its free text."""

import json

from services.referrals.message_view import message_view


def test_an_answer_shows_its_codes_and_only_the_shape_of_its_text():
    body = {"schema": "ehr.referral-answer/1", "kind": "back_referral", "institution_code": "H1101050001",
            "referral_id": 7, "note": "患者张三，身份证11010519491231002X",
            "back_referral": {"diagnosis": "原发性高血压", "plan": "两周后随访"}}
    view = message_view(json.dumps(body, ensure_ascii=False))
    assert view["fields"] == {"schema": "ehr.referral-answer/1", "kind": "back_referral",
                              "institution_code": "H1101050001", "referral_id": 7, "note": "string(26)",
                              "back_referral": {"diagnosis": "string(6)", "plan": "string(5)"}}
    assert "张三" not in json.dumps(view, ensure_ascii=False)


def test_a_code_too_long_or_a_body_not_kept_or_not_json_shows_no_content():
    assert message_view(json.dumps({"kind": "x" * 65}))["fields"] == {"kind": "string(65)"}
    assert message_view(None) == {"kept": False}
    assert message_view("张三 not json") == {"kept": True, "size": 15, "json": False}
