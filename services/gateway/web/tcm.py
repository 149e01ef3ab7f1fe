"""The 老年人中医药健康管理服务记录表 (`elderly_tcm`) laid out as the paper form: the 33 questions in
rows, each answered 1-5 in the form's columns (没有 … 总是) with radio buttons, then the
中医药保健指导 for each constitution identified; after filing, the judged constitutions.

The questions, the scoring and the judging rule are `shared.elderly_assessments`' (the records
service validates and stores the scores and judgments with them); this module only lays them out
and reads the posted form back into the record's content:

    read(form) -> {"occurred_on": "2026-11-20", "answers": [1, 2, ..., 3],
                   "guidance": {"qi_deficiency": {"areas": ["2", "4"]}}, "doctor": "李医生"}

A question left unanswered is sent as null in its place, so the server's error names that row
(`answers.5`) and the page shows it there. When the page comes back with all 33 answered, the
constitutions the answers identify are said above the guidance (`judged`), so the doctor knows
which guidance the form asks for.
"""

from __future__ import annotations

from typing import Any

from shared.elderly_assessments import (
    QUESTIONS, Constitution, GuidanceArea, Judgment, constitution_scores, judge_constitutions,
)

RECORD_TYPE = "elderly_tcm"
TEMPLATE = "form_elderly_tcm.html"
# The form's five columns: the answer's code, its word, and what the form puts beside it.
ANSWERS = (("1", "没有", "根本不"), ("2", "很少", "有一点"), ("3", "有时", "有些"), ("4", "经常", "相当"),
           ("5", "总是", "非常"))
CONSTITUTIONS = [(c.value, c.label) for c in Constitution]
AREAS = [(a.value, a.label) for a in GuidanceArea]
JUDGMENTS = {j.value: j.label for j in Judgment}
IDENTIFIED = frozenset({Judgment.YES.value, Judgment.TENDING.value, Judgment.BASICALLY.value})


def _answer(raw: str | None) -> int | str | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    return int(raw) if raw.isdigit() else raw  # anything else is left for the server to refuse


def read(form) -> dict[str, Any]:
    """The record's content from the posted form (a werkzeug MultiDict); nothing filled in is left out."""
    content: dict[str, Any] = {}
    for name in ("occurred_on", "doctor"):
        if (value := (form.get(name) or "").strip()):
            content[name] = value
    answers = [_answer(form.get(f"answers.{i}")) for i in range(len(QUESTIONS))]
    if any(a is not None for a in answers):
        content["answers"] = answers
    guidance = {}
    for code, _ in CONSTITUTIONS:
        areas = [a for a in form.getlist(f"guidance.{code}.areas") if a]
        other = (form.get(f"guidance.{code}.other") or "").strip()
        if areas or other:
            guidance[code] = {"areas": areas, **({"other": other} if other else {})}
    if guidance:
        content["guidance"] = guidance
    return content


def judged(content: dict | None) -> list[dict] | None:
    """The constitutions as the answers judge them, in the form's order: `[{"code", "name", "score",
    "judgment", "judgment_name", "identified"}]`; the stored judgments when the record has them,
    else computed from 33 valid answers, else None."""
    content = content or {}
    scores, judgments = content.get("scores"), content.get("judgments")
    if not (scores and judgments):
        answers = content.get("answers")
        if not (isinstance(answers, list) and len(answers) == len(QUESTIONS)
                and all(isinstance(a, int) and 1 <= a <= 5 for a in answers)):
            return None
        scores = constitution_scores(answers)
        judgments = judge_constitutions(scores)
    return [{"code": code, "name": name, "score": scores.get(code), "judgment": judgments.get(code),
             "judgment_name": JUDGMENTS.get(judgments.get(code), judgments.get(code)),
             "identified": judgments.get(code) in IDENTIFIED}
            for code, name in CONSTITUTIONS]


def context(content: dict) -> dict:
    """What the form's template needs beside the content."""
    return {"questions": list(enumerate(QUESTIONS)), "answer_columns": ANSWERS, "constitutions": CONSTITUTIONS,
            "areas": AREAS, "judged": judged(content)}
