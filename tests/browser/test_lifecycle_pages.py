"""An archive's lifecycle pages in a real browser: terminate (the registry's error beside the
field it names) then reactivate; a role that may not terminate is offered no form and its forged
POST is refused; a form posted without its CSRF token is refused; a transfer requested and
accepted on the receiving side; a duplicate merged and the merge undone; the identity corrected
with its revisions shown."""

from __future__ import annotations

from datetime import date

from ehr.synthetic import Synthesizer
from tests.browser.conftest import CLINIC, TOWNSHIP, VILLAGE

OTHER_TOWNSHIP, OTHER_TOWNSHIPS_VILLAGE = "T1101052011", "110105201101"  # 金盏乡卫生院, 东窑村


def test_a_township_doctor_terminates_then_reactivates_an_archive(scenario, staff, api):
    resident = api()
    scenario("lifecycle_scenarios.terminate_then_reactivate", doctor=staff.user("township_doctor", TOWNSHIP),
             archive_no=resident["archive_no"])


def test_a_village_doctor_is_offered_no_termination_and_a_forged_post_is_refused(scenario, staff, api):
    resident = api()
    scenario("lifecycle_scenarios.not_offered_and_forged_post_refused", doctor=staff.user("village_doctor", CLINIC),
             archive_no=resident["archive_no"])


def test_a_termination_posted_without_its_csrf_token_is_refused(scenario, staff, api):
    resident = api()
    scenario("lifecycle_scenarios.termination_without_csrf_refused", doctor=staff.user("township_doctor", TOWNSHIP),
             archive_no=resident["archive_no"])


def test_a_transfer_is_requested_and_accepted_by_the_receiving_township(scenario, staff, api):
    resident = api()
    scenario("lifecycle_scenarios.transfer_requested_and_accepted", doctor=staff.user("township_doctor", TOWNSHIP),
             receiving_doctor=staff.user("township_doctor", OTHER_TOWNSHIP), archive_no=resident["archive_no"],
             name=resident["name"], to_village=OTHER_TOWNSHIPS_VILLAGE, to_institution=OTHER_TOWNSHIP)


def test_an_archive_manager_merges_the_duplicate_offered_and_undoes_it(scenario, staff, api, township):
    resident = api()
    synth = Synthesizer()
    twin = synth.resident(VILLAGE, CLINIC, born=date.fromisoformat(resident["birth_date"]), sex=resident["sex"])
    while twin.id_number == resident["id_number"]:
        twin = synth.resident(VILLAGE, CLINIC, born=date.fromisoformat(resident["birth_date"]), sex=resident["sex"])
    body = {**twin.archive_request(), "name": resident["name"], "confirm_new": True}
    answer = township.post(f"{township.base}/api/v1/archives", json=body, timeout=30)
    assert answer.status_code == 201, answer.text
    scenario("lifecycle_scenarios.merge_and_unmerge", manager=staff.user("archive_manager", TOWNSHIP),
             archive_no=resident["archive_no"], duplicate_no=answer.json()["archive_no"])


def test_a_township_doctor_corrects_the_identity_and_sees_the_revision(scenario, staff, api):
    resident = api()
    scenario("lifecycle_scenarios.identity_corrected", doctor=staff.user("township_doctor", TOWNSHIP),
             archive_no=resident["archive_no"], birth_date=resident["birth_date"])
