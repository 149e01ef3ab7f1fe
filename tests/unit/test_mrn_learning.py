"""Records asks the registry to learn MRNs after filing, only for what an ID number matched."""

import logging

from services.records.mrn_learning import Remembering, teach

BY_ID = {"archive_no": "11010510110100007", "status": "active", "village_code": "110105101101",
         "matched_by": "id_number"}
TEACHING = {**BY_ID, "teaches_mrn": True}
BY_MRN = {**BY_ID, "matched_by": "mrn"}


def test_only_the_queries_the_registry_says_teach_an_mrn_are_remembered():
    queries = [{"id_number": "x1", "mrn": "MZ1", "institution_code": "H1"},   # an MRN the archive lacks
               {"id_number": "x2", "mrn": "MZ2", "institution_code": "H1"},   # an MRN it holds already
               {"id_number": None, "mrn": "MZ3", "institution_code": "H1"},   # found by its MRN
               {"id_number": "x4", "mrn": "MZ4", "institution_code": "H1"}]   # not found: pending
    resolve = Remembering(lambda qs: [TEACHING, BY_ID, BY_MRN, None][:len(qs)])
    assert resolve(queries) == [TEACHING, BY_ID, BY_MRN, None]
    assert resolve(queries[:1]) == [TEACHING]  # a second batch adds to what the first taught
    assert resolve.learnable == [queries[0], queries[0]]


def test_teaching_asks_nothing_for_nothing_and_a_registry_that_fails_costs_only_the_learning(caplog):
    asked = []
    teach(asked.append, [])
    assert asked == []

    def down(queries):
        raise ConnectionError("registry gone")

    caplog.set_level(logging.WARNING)
    teach(down, [{"id_number": "11010519491231002X", "mrn": "MZ1", "institution_code": "H1"}])
    [record] = caplog.records
    assert "could not teach" in record.message and record.encounters == 1
    assert "11010519491231002X" not in record.getMessage()
