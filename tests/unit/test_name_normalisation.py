"""Names in their normal form wherever they enter (issue 11, finding 10), and the audit target of
an answer that disclosed archive numbers (finding 2)."""

import pytest
from marshmallow import ValidationError

from ehr.synthetic import Synthesizer
from services.gateway.gate import disclosed_target
from shared.contracts.registry import IdentityUpdateSchema
from shared.contracts.registry import ArchiveSearchSchema, ResolveQuerySchema
from shared.contracts.registry import ArchiveCreateSchema
from shared.contracts.encounter import load_encounter

HIDDEN = "\u202e张\u200b秀英\ufeff "  # right-to-left override, zero-width space, byte-order mark


@pytest.fixture
def resident():
    return Synthesizer(seed=11).resident("110105101101", "T1101051011")


def test_an_archive_is_created_with_the_name_in_its_normal_form(resident):
    data = ArchiveCreateSchema().load({**resident.archive_request(), "name": HIDDEN})
    assert data["name"] == "张秀英"


def test_a_name_of_invisible_characters_only_is_refused_naming_the_field(resident):
    with pytest.raises(ValidationError) as err:
        ArchiveCreateSchema().load({**resident.archive_request(), "name": "\u200b\u200d"})
    assert list(err.value.messages) == ["name"]


def test_corrections_searches_and_resolutions_take_the_normal_form_too():
    assert IdentityUpdateSchema().load({"name": HIDDEN})["name"] == "张秀英"
    assert ArchiveSearchSchema().load({"name": "张\u200b"})["name"] == "张"
    assert ResolveQuerySchema().load({"name": HIDDEN, "birth_date": "1949-12-31"})["name"] == "张秀英"
    assert ResolveQuerySchema().load({"name": "\u200b", "birth_date": "1949-12-31"})["name"] is None


def test_an_encounter_carries_the_patients_name_in_its_normal_form(resident):
    body = Synthesizer(seed=3).encounter(resident, "H1101050001")
    body["patient"]["name"] = HIDDEN
    assert load_encounter(body).body["patient"]["name"] == "张秀英"
    body["patient"]["name"] = "\u200b"
    assert load_encounter(body).body["patient"]["name"] is None


def test_the_disclosed_target_names_every_number_within_the_audit_column():
    assert disclosed_target([]) is None
    assert disclosed_target(["11010500300100001"]) == "disclosed:11010500300100001"
    assert disclosed_target(["11010500300100031", "11010500300100001", "11010500300100007"]) == \
        "disclosed:11010500300100001,07,31"
    county_wide = [f"110105{t:03d}{v:03d}{n:05d}" for t, v, n in ((3, 1, 1), (101, 2, 7), (201, 1, 12),
                                                                  (3, 2, 40), (101, 101, 99), (3, 1, 1))]
    target = disclosed_target(county_wide)
    assert len(target) <= 80 and target.count(",") == 4 and "+" not in target


def test_numbers_that_do_not_fit_are_counted():
    spread = [f"{c}0500300100001" for c in ("1101", "1201", "1301", "1401", "1501", "2101")]
    target = disclosed_target(spread)
    assert len(target) <= 80 and target.startswith("disclosed:11010500300100001,") and target.endswith(",+3")
