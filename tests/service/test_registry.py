"""The registry against real RabbitMQ and PostgreSQL."""

import eventlet
import pytest

from shared.errors import Conflict, NotFound, ValidationFailed
from tests.support.amqp import Listener
from tests.support.db import query

VILLAGE = "110105101101"
INSTITUTION = "T1101051011"


def test_creating_an_archive_allocates_a_17_digit_number_in_the_village(registry, rpc, synth):
    resident = synth.resident(VILLAGE, INSTITUTION)
    archive = rpc.registry.create_archive(resident.archive_request())
    assert archive["archive_no"].startswith(VILLAGE) and len(archive["archive_no"]) == 17
    assert archive["id_number_masked"] == "*" * 14 + resident.id_number[-4:]
    assert "id_number" not in archive
    assert rpc.registry.get_archive(archive["archive_no"])["name"] == resident.name


def test_id_and_phone_numbers_are_stored_encrypted(registry, rpc, synth):
    resident = synth.resident(VILLAGE, INSTITUTION)
    archive_no = rpc.registry.create_archive(resident.archive_request())["archive_no"]
    row = query("registry", "SELECT * FROM archives WHERE archive_no = :a", a=archive_no)[0]._mapping
    stored = b"".join(bytes(v) for v in row.values() if isinstance(v, (bytes, memoryview)))
    assert resident.id_number.encode() not in stored and resident.phone.encode() not in stored
    assert all(resident.id_number not in str(v) for v in row.values())


def test_a_second_archive_for_the_same_id_number_is_refused_with_the_existing_number(registry, rpc, synth):
    resident = synth.resident(VILLAGE, INSTITUTION)
    first = rpc.registry.create_archive(resident.archive_request())
    with pytest.raises(Conflict) as err:
        rpc.registry.create_archive({**resident.archive_request(), "village_code": "110105003001",
                                     "institution_code": "C1101050031"})
    assert err.value.details["archive_no"] == first["archive_no"]
    assert resident.id_number not in str(err.value.details) + err.value.message


def test_a_bad_check_character_is_a_field_error_without_the_number(registry, rpc, synth):
    request = synth.resident(VILLAGE, INSTITUTION).archive_request()
    bad = request["id_number"][:-1] + ("0" if request["id_number"][-1] != "0" else "1")
    with pytest.raises(ValidationFailed) as err:
        rpc.registry.create_archive({**request, "id_number": bad})
    assert list(err.value.details) == ["id_number"]
    assert bad not in str(err.value.details)


def test_sex_that_contradicts_the_id_number_is_refused(registry, rpc, synth):
    request = synth.resident(VILLAGE, INSTITUTION).archive_request()
    other = "1" if request["sex"] == "2" else "2"
    with pytest.raises(ValidationFailed) as err:
        rpc.registry.create_archive({**request, "sex": other})
    assert "sex" in err.value.details


def test_unknown_village_and_institution_are_named(registry, rpc, synth):
    request = synth.resident(VILLAGE, INSTITUTION).archive_request()
    with pytest.raises(ValidationFailed) as err:
        rpc.registry.create_archive({**request, "village_code": "110105101199", "institution_code": "NOPE01"})
    assert set(err.value.details) == {"village_code", "institution_code"}


def test_reading_an_unknown_archive_is_not_found(registry, rpc):
    with pytest.raises(NotFound):
        rpc.registry.get_archive("11010510110199999")


def test_resolve_identities_answers_each_query_in_order(registry, rpc, synth):
    known = synth.resident(VILLAGE, INSTITUTION)
    archive_no = rpc.registry.create_archive(known.archive_request())["archive_no"]
    stranger = synth.resident(VILLAGE, INSTITUTION)
    answers = rpc.registry.resolve_identities([
        {"id_type": "01", "id_number": stranger.id_number},
        {"id_type": "01", "id_number": known.id_number},
        {"id_type": "01", "id_number": None},
    ])
    assert answers[0] is None and answers[2] is None
    assert answers[1]["archive_no"] == archive_no


def test_concurrent_creations_in_one_village_from_two_workers_get_consecutive_unique_serials(start, rpc, synth):
    from services.registry.service import RegistryService

    # Two containers of the registry are two competing workers, as two processes would be.
    start(RegistryService)
    start(type("RegistryService2", (RegistryService,), {}))
    village = "110105201102"
    before = query("registry", "SELECT coalesce(max(last_serial), 0) FROM archive_serials WHERE village_code = :v",
                   v=village)[0][0]
    residents = [synth.resident(village, "T1101052011") for _ in range(30)]
    pool = eventlet.GreenPool(15)

    def create(resident):
        from shared.transport.rpc import SignedClusterRpcClient

        with SignedClusterRpcClient(timeout=30) as client:
            return client.registry.create_archive(resident.archive_request())["archive_no"]

    numbers = list(pool.imap(create, residents))
    serials = sorted(int(n[-5:]) for n in numbers)
    assert serials == list(range(before + 1, before + 31))


def test_concurrent_creations_with_one_id_number_give_one_archive(registry, synth):
    resident = synth.resident(VILLAGE, INSTITUTION)
    pool = eventlet.GreenPool(8)

    def create(_):
        from shared.transport.rpc import SignedClusterRpcClient

        with SignedClusterRpcClient(timeout=30) as client:
            try:
                return client.registry.create_archive(resident.archive_request())["archive_no"]
            except Conflict as exc:
                return ("conflict", exc.details["archive_no"])

    results = list(pool.imap(create, range(8)))
    created = [r for r in results if isinstance(r, str)]
    assert len(created) == 1
    assert all(r[1] == created[0] for r in results if isinstance(r, tuple))


def test_archive_created_is_announced_once_through_the_outbox(registry, rpc, synth, suite_env):
    listener = Listener(suite_env.amqp_uri, "ehr.events", "registry.archive_created")
    try:
        resident = synth.resident(VILLAGE, INSTITUTION)
        archive_no = rpc.registry.create_archive(resident.archive_request())["archive_no"]
        events = [m for m in listener.settle(quiet=2.0) if m["body"]["data"]["archive_no"] == archive_no]
        assert len(events) == 1
        assert events[0]["body"]["schema"] == "ehr.event/1"
        assert resident.id_number not in str(events[0]["body"])
        assert query("registry", "SELECT count(*) FROM outbox")[0][0] == 0
    finally:
        listener.close()
