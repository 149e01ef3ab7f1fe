"""The archive's forms in the records service, with the registry, on real RabbitMQ and PostgreSQL:
the 个人基本信息表 filed once and changed by revisions, a health exam validated against what the
archive knows of the resident, what it offers the 个人基本信息表, and its abnormal results on the
首页."""

from datetime import date

import pytest

from shared.errors import Conflict, ValidationFailed
from tests.unit.test_forms import health_exam, personal_info

VILLAGE = "110105003001"   # a residents' committee: 生活环境 may be left out
MANAGER = "C1101050031"
BORN = date(1950, 6, 15)   # 73 on health_exam()'s date: asked the elderly items


@pytest.fixture
def archive_of(records_and_registry, rpc, synth):
    def _archive(sex="2"):
        resident = synth.resident(VILLAGE, MANAGER, born=BORN, sex=sex)
        return rpc.registry.create_archive({**resident.archive_request(), "confirm_new": True})["archive_no"]
    return _archive


def file(rpc, archive_no, record_type, content):
    return rpc.records.file_record(archive_no, {"record_type": record_type, "content": content,
                                                "institution_code": MANAGER})


def test_a_second_personal_info_is_refused_naming_the_form_and_changes_are_revisions(archive_of, rpc):
    archive_no = archive_of()
    first = file(rpc, archive_no, "personal_info", personal_info())
    assert first["suggestions"] == []

    with pytest.raises(Conflict) as refused:
        file(rpc, archive_no, "personal_info", personal_info(education="7"))
    assert refused.value.details == {"record_type": "personal_info", "record_id": first["record_id"]}
    assert "个人基本信息表" in refused.value.message

    amended = rpc.records.amend_record(archive_no, first["record_id"],
                                       {"content": personal_info(education="7"), "reason": "文化程度核对"})
    assert amended["current_revision"] == 2
    assert [r["content"]["education"] for r in amended["revisions"]] == ["6", "7"]

    rpc.records.mark_entered_in_error(archive_no, first["record_id"], "录入了他人的表")
    assert file(rpc, archive_no, "personal_info", personal_info())["record_id"] != first["record_id"]


def test_an_abnormal_ecg_is_counted_on_the_archive_summary(archive_of, rpc):
    archive_no = archive_of()
    content = health_exam()
    content["tests"][7] = {"item": "ecg", "result": "2", "description": "ST段压低"}
    content["tests"].append({"item": "chest_xray", "result": "1"})
    exam = file(rpc, archive_no, "health_exam", content)

    summary = rpc.records.archive_summary(archive_no)
    assert summary["last_exam"] == {"record_id": exam["record_id"], "occurred_on": "2024-05-10",
                                    "abnormal_findings": [{"item": "ecg", "label": "心电图",
                                                           "description": "ST段压低"}]}
    assert "elderly" in summary["key_populations"]


def test_an_exam_is_checked_against_what_the_archive_knows_and_offers_what_it_found(archive_of, rpc):
    archive_no = archive_of(sex="1")
    diabetic = personal_info(past_history={"diseases": [{"code": "3", "diagnosed_on": "2016-04"}],
                                           "operations": [], "injuries": [], "transfusions": []})
    file(rpc, archive_no, "personal_info", diabetic)
    content = health_exam()
    del content["physical_exam"]["gynaecology"], content["physical_exam"]["breast"]  # a man's exam
    content["health_problems"]["cerebrovascular"] = ["2"]                             # 缺血性卒中 found
    without_pulse = {**content, "physical_exam": {k: v for k, v in content["physical_exam"].items()
                                                  if k != "dorsalis_pedis"}}

    with pytest.raises(ValidationFailed) as refused:
        file(rpc, archive_no, "health_exam", without_pulse)
    assert refused.value.details == {"physical_exam": {"dorsalis_pedis": ["Required for residents with diabetes."]}}

    with pytest.raises(ValidationFailed) as refused:
        file(rpc, archive_no, "health_exam", health_exam())           # with a woman's items
    assert set(refused.value.details["physical_exam"]) == {"gynaecology", "breast"}

    filed = file(rpc, archive_no, "health_exam", content)
    assert filed["suggestions"] == [{"form": "personal_info", "field": "past_history", "code": "7",
                                     "label": "脑卒中", "found_in": "health_problems.cerebrovascular"}]
    assert [c["code"] for c in rpc.records.archive_summary(archive_no)["chronic_conditions"]] == ["diabetes"]
