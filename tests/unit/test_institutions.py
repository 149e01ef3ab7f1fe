"""The institution directory (shared.institutions) the gateway and records share: refreshed when
old, or sooner when a code is missing, never more often than `min_refresh`."""

from __future__ import annotations

from shared.institutions import InstitutionDirectory

INSTITUTIONS = [{"code": "H1101050001", "division_code": "110105", "kind": "hospital"},
                {"code": "T1101051011", "division_code": "110105101", "kind": "township_centre"}]


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Registry:
    def __init__(self, institutions):
        self.institutions, self.calls = list(institutions), 0

    def list_institutions(self):
        self.calls += 1
        return self.institutions


def test_the_directory_answers_by_code_known_codes_and_divisions_from_one_fetch():
    directory, registry = InstitutionDirectory(clock=Clock()), Registry(INSTITUTIONS)
    assert directory.get("H1101050001", registry.list_institutions)["kind"] == "hospital"
    assert directory.known({"H1101050001", "H0000000000"}, registry.list_institutions) == {"H1101050001"}
    assert directory.divisions({"T1101051011"}, registry.list_institutions) == {"T1101051011": "110105101"}
    assert registry.calls == 1  # the missing code asked right after the fetch: no second one


def test_a_missing_code_refreshes_at_most_every_min_refresh_seconds():
    clock = Clock()
    directory, registry = InstitutionDirectory(min_refresh=5, max_age=300, clock=clock), Registry(INSTITUTIONS)
    directory.known({"H1101050001"}, registry.list_institutions)
    clock.now += 1
    assert directory.get("H3301020001", registry.list_institutions) is None
    assert registry.calls == 1
    registry.institutions.append({"code": "H3301020001", "division_code": "330102"})
    clock.now += 5
    assert directory.get("H3301020001", registry.list_institutions)["division_code"] == "330102"
    assert registry.calls == 2


def test_known_codes_are_fetched_again_only_when_older_than_max_age():
    clock = Clock()
    directory, registry = InstitutionDirectory(min_refresh=5, max_age=300, clock=clock), Registry(INSTITUTIONS)
    directory.get("H1101050001", registry.list_institutions)
    clock.now += 299
    directory.get("H1101050001", registry.list_institutions)
    assert registry.calls == 1
    clock.now += 2
    directory.get("H1101050001", registry.list_institutions)
    assert registry.calls == 2


def test_every_institution_in_the_registry_order_from_the_cache_refreshed_for_a_missing_code():
    clock = Clock()
    directory, registry = InstitutionDirectory(min_refresh=5, max_age=300, clock=clock), Registry(INSTITUTIONS)
    assert list(directory.every(registry.list_institutions)) == ["H1101050001", "T1101051011"]
    assert list(directory.every(registry.list_institutions, {"T1101051011"})) == ["H1101050001", "T1101051011"]
    assert registry.calls == 1
    registry.institutions.append({"code": "V1101051011", "division_code": "110105101001", "kind": "village_clinic"})
    clock.now += 6
    assert "V1101051011" in directory.every(registry.list_institutions, {"V1101051011"})
    assert registry.calls == 2
    directory.every(registry.list_institutions)["X"] = {}  # a copy: the cache is not changed through it
    assert "X" not in directory.every(registry.list_institutions)
