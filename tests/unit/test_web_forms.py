"""The form pages drawn from the published schemas (services/gateway/web/forms.py, labels.py):
every field of every form has its Chinese label, each form's page renders, and a posted form is
read back into the content the records service files."""

from __future__ import annotations

import re

import pytest
from werkzeug.datastructures import MultiDict

import services.gateway.web.forms as forms
from services.gateway.web import labels
from services.gateway.web.page import templates
from services.gateway.web.pages.programmes import FOLLOW_UP_FORMS, form_for


def _fields(node: forms.Field):
    for child in node.children if node.kind != "repeat" else node.row(0).children:
        yield child
        yield from _fields(child)


@pytest.mark.parametrize("record_type", sorted(forms.published()))
def test_every_field_of_every_form_has_a_chinese_label_and_the_form_a_title(record_type):
    assert labels.title(record_type) != record_type
    unlabelled = [f.path for f in _fields(forms.form_tree(record_type)) if not re.search(r"[\u4e00-\u9fff]", f.label)]
    assert unlabelled == []


@pytest.mark.parametrize("record_type", sorted(forms.published()))
def test_every_form_page_renders_with_a_label_for_each_input(record_type):
    tree = forms.form_tree(record_type)
    html = templates.get_template("form.html").render(
        archive={"archive_no": "11010510110100001", "name": "测试", "sex": "1", "birth_date": "1950-01-01"},
        record_type=record_type, tree=tree, title=labels.title(record_type), content={}, errors={}, unplaced={},
        record=None, reason="", value_at=forms.value_at, shown=forms.shown, integrated=None, caller=None,
        csrf="x", csrf_field="csrf_token", may=lambda action: True, access=None, request_path="/")
    ids = set(re.findall(r'<input id="([^"]+)"', html)) | set(re.findall(r'<(?:select|textarea) id="([^"]+)"', html))
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    assert ids and ids <= labelled, sorted(ids - labelled)


def test_derived_values_are_not_asked():
    for record_type, paths in labels.DERIVED.items():
        asked = {f.path for f in _fields(forms.form_tree(record_type))}
        assert not paths & asked, (record_type, paths & asked)


def test_a_posted_hypertension_follow_up_is_read_back_into_its_content():
    posted = MultiDict([
        ("occurred_on", "2026-12-01"), ("method", "1"), ("symptoms", "2"), ("symptoms", "3"),
        ("signs.blood_pressure.systolic", "150"), ("signs.blood_pressure.diastolic", "92"), ("signs.weight", "70.5"),
        ("lifestyle.smoking", "10"), ("lifestyle.salt", "3"), ("adherence", "2"), ("adverse_reaction.present", "false"),
        ("medicines.0.name", "苯磺酸氨氯地平片"), ("medicines.0.times_per_day", "1"), ("medicines.0.dose", "5"),
        ("medicines.0.unit", "mg"), ("medicines.1.name", ""), ("classification", "2"), ("next_visit_date", "2026-12-15"),
        ("referral.reason", ""),
    ])
    assert forms.read_content("hypertension_follow_up", posted) == {
        "occurred_on": "2026-12-01", "method": "1", "symptoms": ["2", "3"],
        "signs": {"blood_pressure": {"systolic": 150, "diastolic": 92}, "weight": 70.5},
        "lifestyle": {"smoking": 10, "salt": "3"}, "adherence": "2", "adverse_reaction": {"present": False},
        "medicines": [{"name": "苯磺酸氨氯地平片", "times_per_day": 1, "dose": 5, "unit": "mg"}],
        "classification": "2", "next_visit_date": "2026-12-15"}


def test_the_tcm_answers_are_read_as_numbers_one_a_line_or_spaced():
    answers = " ".join(["2"] * 30) + "\n3\n4，5"
    assert forms.read_content("elderly_tcm", MultiDict([("answers", answers)]))["answers"] == [2] * 30 + [3, 4, 5]


def test_each_work_list_service_leads_to_a_published_form():
    assert {rt for rt in FOLLOW_UP_FORMS.values()} <= set(forms.published())
    assert form_for("type2_diabetes", "follow_up") == "diabetes_follow_up"
    assert form_for("elderly", "annual_check") == "health_exam"
    assert form_for("hypertension", "no_such_service") is None
