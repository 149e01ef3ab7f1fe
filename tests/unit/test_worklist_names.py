"""The work list's names: one registry call per page, whatever the number of rows, confined to
the caller's scope; an archive the registry does not answer keeps its row, without a name."""

from __future__ import annotations

from types import SimpleNamespace

from services.gateway.routes.programmes import with_residents


class Registry:
    def __init__(self, known: dict[str, dict]):
        self.known, self.calls = known, []

    def archives_by_numbers(self, numbers, scope=None):
        self.calls.append((list(numbers), scope))
        return [self.known[n] for n in numbers if n in self.known]


A, B, C = "11010510110100001", "11010510110100002", "11010510110100003"
SCOPE = {"prefix": "110105101", "institution_code": "T1101051011"}


def test_a_page_of_items_is_named_with_one_registry_call_in_the_callers_scope():
    registry = Registry({A: {"archive_no": A, "name": "张秀英", "id_number_masked": "**************002X"},
                         B: {"archive_no": B, "name": "李建国", "id_number_masked": "**************0011"}})
    page = {"today": "2026-12-07", "next": None,
            "items": [{"archive_no": A, "programme": "hypertension"}, {"archive_no": B, "programme": "elderly"},
                      {"archive_no": A, "programme": "type2_diabetes"}, {"archive_no": C, "programme": "elderly"}]}

    named = with_residents(SimpleNamespace(registry=registry), page, SCOPE)

    assert registry.calls == [([A, B, C], SCOPE)]
    assert [(i["archive_no"], i["name"], i["id_number_masked"]) for i in named["items"]] == [
        (A, "张秀英", "**************002X"), (B, "李建国", "**************0011"), (A, "张秀英", "**************002X"),
        (C, None, None)]
    assert named["items"][1]["programme"] == "elderly" and named["today"] == "2026-12-07"


def test_an_empty_page_asks_the_registry_nothing():
    registry = Registry({})
    assert with_residents(SimpleNamespace(registry=registry), {"items": [], "next": None}, SCOPE)["items"] == []
    assert registry.calls == []
