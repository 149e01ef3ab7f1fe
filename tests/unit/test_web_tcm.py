"""The 中医药健康管理服务记录表 page's reading of a posted form, and the judged constitutions it
shows (the rule itself is shared.elderly_assessments', tested with the forms)."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from services.gateway.web import tcm

QI = [3 if n in (2, 3, 4, 14) else 1 for n in range(1, 34)]  # 气虚质 12: 是


def _posted(answers, **extra) -> MultiDict:
    form = MultiDict({f"answers.{i}": str(a) for i, a in enumerate(answers) if a is not None})
    for key, values in extra.items():
        for value in values if isinstance(values, list) else [values]:
            form.add(key, value)
    return form


def test_the_33_answers_in_order_and_the_guidance_ticked_become_the_records_content():
    form = _posted(QI, occurred_on="2026-11-20", doctor="李医生", **{
        "guidance.qi_deficiency.areas": ["2", "4"], "guidance.balanced.other": "", "csrf_token": "x"})
    assert tcm.read(form) == {"occurred_on": "2026-11-20", "doctor": "李医生", "answers": QI,
                              "guidance": {"qi_deficiency": {"areas": ["2", "4"]}}}


def test_an_unanswered_question_stays_in_its_place_so_the_error_names_its_row():
    answers = list(QI)
    answers[5] = None
    content = tcm.read(_posted(answers))
    assert content["answers"][5] is None and content["answers"][4] == 1 and len(content["answers"]) == 33
    assert tcm.read(MultiDict({"occurred_on": "2026-11-20"})) == {"occurred_on": "2026-11-20"}


def test_the_judged_constitutions_come_from_the_record_or_from_33_valid_answers():
    judged = {c["code"]: c for c in tcm.judged({"answers": QI})}
    assert (judged["qi_deficiency"]["score"], judged["qi_deficiency"]["judgment_name"]) == (12, "是")
    assert judged["qi_deficiency"]["identified"] and not judged["balanced"]["identified"]
    assert [c["name"] for c in tcm.judged({"answers": QI})][:2] == ["气虚质", "阳虚质"]
    stored = tcm.judged({"scores": {"balanced": 20}, "judgments": {"balanced": "yes"}})
    assert [c for c in stored if c["code"] == "balanced"][0]["judgment_name"] == "是"
    assert tcm.judged({"answers": QI[:-1]}) is None and tcm.judged({"answers": [*QI[:-1], 6]}) is None
