"""Every RPC and every message goes through its contract (`shared/contracts`):

- each `@rpc` method of the registry, records, the programmes and referrals has a declared
  request and answer schema (the service's `RPC` table), and its code loads and dumps with that
  entry, so the table the code uses is the table tested; an RPC added without one fails;
- the records service's views hold only fields its answer schemas declare (a dump would drop an
  undeclared one from the HTTP answer);
- events built by the real producers (through `event_message`: the registry, the gateway,
  records' `record_changed`, the programmes' and referrals' events) load with the consumers'
  reader (`load_event`), and archive updates built by records load with `ArchiveUpdateSchema`; a
  producer that drops a field its payload schema requires is caught;
- every event a consumer handles has a payload schema, and every payload schema a producer.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from marshmallow import Schema
from nameko.rpc import Rpc as NamekoRpc

from shared.actor import Actor
from shared.contracts import events, programmes as programme_contracts, records as record_contracts, \
    referrals as referral_contracts, registry as registry_contracts
from shared.contracts.archive_update import ArchiveUpdateSchema
from shared.contracts.events import InvalidEvent, event_message, load_event
from shared.contracts.fields import Rpc
from shared.transport.rpc import rpc

from services.programmes.service import ProgrammesService
from services.records.service import RecordsService
from services.referrals.service import ReferralsService
from services.registry.service import RegistryService

ACTOR = Actor("doc01", "T1101051011", "township_doctor")
ARCHIVE_NO = "11010510110100007"


# -- RPC ---------------------------------------------------------------------------------------


def rpc_methods(service: type) -> dict[str, object]:
    return {name: member for name, member in inspect.getmembers(service, inspect.isfunction)
            if any(isinstance(e, NamekoRpc) for e in getattr(member, "nameko_entrypoints", ()))}


def contract_problems(service: type, table: dict[str, Rpc]) -> list[str]:
    """What keeps a service's RPC from going through its contracts: a method without an entry,
    an entry without a method, an entry that is not a pair of schemas, a method whose code does
    not take its own entry (`RPC["<method>"]`)."""
    methods = rpc_methods(service)
    problems = [f"{name}: no contract" for name in sorted(set(methods) - set(table))]
    problems += [f"{name}: a contract without a method" for name in sorted(set(table) - set(methods))]
    for name, method in methods.items():
        call = table.get(name)
        if call is not None and not (isinstance(call.request, Schema) and isinstance(call.answer, Schema)):
            problems.append(f"{name}: not a request and answer schema")
        used = {node.slice.value for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(method))))
                if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "RPC"
                and isinstance(node.slice, ast.Constant)}
        if name not in used:
            problems.append(f"{name}: does not load or dump through RPC[{name!r}]")
    return problems


@pytest.mark.parametrize("service,table", [(RegistryService, registry_contracts.RPC),
                                           (RecordsService, record_contracts.RPC),
                                           (ProgrammesService, programme_contracts.RPC),
                                           (ReferralsService, referral_contracts.RPC)],
                         ids=["registry", "records", "programmes", "referrals"])
def test_every_rpc_method_loads_and_dumps_through_its_declared_contract(service, table):
    assert len(rpc_methods(service)) >= 12
    assert contract_problems(service, table) == []


def test_an_rpc_method_added_without_a_contract_is_caught():
    class Drifted(RecordsService):
        @rpc
        def forget_record(self, record_id):
            return {"record_id": record_id}

    assert contract_problems(Drifted, record_contracts.RPC) == [
        "forget_record: no contract", "forget_record: does not load or dump through RPC['forget_record']"]


def declared(schema: Schema) -> set[str]:
    return {field.data_key or name for name, field in schema.fields.items()}


def test_the_records_views_hold_only_what_their_answer_schemas_declare():
    from services.records import attachments, pending, quarantine, reviews, timeline

    now = datetime(2026, 11, 26, 1, 30, tzinfo=timezone.utc)
    row = SimpleNamespace(id="r1", archive_no=ARCHIVE_NO, record_type="visit", kind=None, status="active",
                          status_reason=None, occurred_at=now, institution_code="T1101051011", source_system=None,
                          source_record_id=None, revision=1, recorded_at=now, origin="form", content={},
                          review="hospital_outside_county", review_details=None, created_at=now)
    quarantined = SimpleNamespace(id=1, queue="records.encounters", routing_key="encounter.H1.outpatient",
                                  message_id="m", reason="not_json", details={}, status="held", received_at=now,
                                  resolved_at=None)
    parked = SimpleNamespace(id=1, message_kind="encounter", institution_code="H1", message_id="m", status="pending", received_at=now,
                             checked_at=None, identity_key=None, candidates=[], filed_record_id=None,
                             proposed_archive_no=None, proposed_by=None, proposed_at=None, linked_by=None,
                             confirmed_by=None)
    kept = SimpleNamespace(id=12, archive_no=ARCHIVE_NO, record_id=None, attachment_type="check_report",
                           content_type="application/pdf", filename=None, size_bytes=9, sha256="0" * 64, source=None,
                           document_date=now.date(), institution_code="T1101051011", added_by="li", added_at=now,
                           status="entered_in_error", status_reason="li: 别人的")
    attachment_entry = timeline.attachment_entry(attachments.attachment_view(kept),
                                                 timeline.attachment_instant(now.date()))
    views = [
        (timeline._record_view(row), record_contracts.TimelineEntrySchema()),
        (attachment_entry, record_contracts.TimelineEntrySchema()),
        (quarantine._view(quarantined), record_contracts.QuarantineEntrySchema()),
        (pending._view(parked), record_contracts.PendingEncounterSchema()),
        (reviews._view(row), record_contracts.ReviewSchema()),
    ]
    for view, schema in views:
        assert set(view) <= declared(schema), (type(schema).__name__, set(view) - declared(schema))
        assert schema.dump(view) == view


# -- events --------------------------------------------------------------------------------------


class Captured:
    """The messages a use case stages in its outbox (`stage` replaced)."""

    def __init__(self, monkeypatch, *modules) -> None:
        self.messages = []
        for module in modules:
            monkeypatch.setattr(module, "stage", lambda session, table, messages: self.messages.extend(messages))


class FakeSession:
    """Just enough of a session for use cases whose reads the test replaces."""

    def __init__(self) -> None:
        self.committed = 0

    def execute(self, *args, **kwargs):
        return None

    def scalar(self, *args, **kwargs):
        return 0

    def add(self, row) -> None:
        row.id = 7

    def flush(self) -> None:
        pass

    def commit(self) -> None:
        self.committed += 1

    def rollback(self) -> None:
        pass


@pytest.fixture
def termination(monkeypatch):
    from services.registry import aliases, revisions, termination

    archive = SimpleNamespace(archive_no=ARCHIVE_NO, status="active", birth_date=date(1949, 12, 31),
                              termination_reason=None)
    monkeypatch.setattr(aliases, "find", lambda session, number, lock=False: archive)
    monkeypatch.setattr(revisions, "record", lambda *args, **kwargs: None)
    monkeypatch.setattr(revisions, "tracked", lambda archive: {})
    monkeypatch.setattr(termination, "cancel_open_transfers", lambda *args: None)
    return termination, archive, Captured(monkeypatch, termination)


def test_termination_events_built_by_the_use_cases_load_with_the_consumers_reader(termination):
    module, archive, captured = termination
    module.terminate_archive(FakeSession(), ARCHIVE_NO, {"reason": "loss_to_follow_up", "date": date(2026, 11, 20),
                                                         "note": "连续三次入户未见"}, ACTOR)
    module.reactivate_archive(FakeSession(), ARCHIVE_NO, "居民返回本村居住", ACTOR)

    terminated, reactivated = (load_event(m.body) for m in captured.messages)
    assert (terminated.event_type, terminated.service) == (events.ARCHIVE_TERMINATED, "registry")
    assert terminated.data == {"archive_no": ARCHIVE_NO, "reason": "loss_to_follow_up", "date": date(2026, 11, 20)}
    assert captured.messages[0].body["data"]["date"] == "2026-11-20"
    assert terminated.actor == {"user": "doc01", "institution_code": "T1101051011", "role": "township_doctor"}
    assert reactivated.event_type == events.ARCHIVE_REACTIVATED and reactivated.data == {"archive_no": ARCHIVE_NO}
    assert captured.messages[0].routing_key == "registry.archive_terminated"
    assert captured.messages[0].message_id == terminated.event_id


def test_a_producer_that_drops_a_required_field_of_its_event_is_caught(termination, monkeypatch):
    module, archive, captured = termination
    real = module.event_message
    monkeypatch.setattr(module, "event_message", lambda service, kind, data, actor: real(
        service, kind, {k: v for k, v in data.items() if k != "date"}, actor))
    module.terminate_archive(FakeSession(), ARCHIVE_NO, {"reason": "death", "date": date(2026, 11, 20),
                                                         "cause": "脑梗死"}, ACTOR)
    with pytest.raises(InvalidEvent) as err:
        load_event(captured.messages[0].body)
    assert err.value.errors == {"data": {"date": ["Missing data for required field."]}}


def test_a_field_a_payload_schema_does_not_declare_never_leaves_the_service():
    message = event_message("registry", events.ARCHIVE_REACTIVATED,
                            {"archive_no": ARCHIVE_NO, "id_number": "11010519491231002X"}, ACTOR)
    assert message.body["data"] == {"archive_no": ARCHIVE_NO}


def test_an_event_type_without_a_payload_schema_cannot_be_built():
    with pytest.raises(KeyError):
        event_message("registry", "archive_renamed", {"archive_no": ARCHIVE_NO}, ACTOR)


def test_the_access_granted_event_built_by_the_gateway_loads_with_the_reader(monkeypatch):
    from services.gateway import accounts

    captured = Captured(monkeypatch, accounts)
    caller = accounts.Caller("doc01", "user", "T1101051011", "township_doctor")
    grant = accounts.grant_access(FakeSession(), caller, ARCHIVE_NO, "急诊：患者在本院就诊", 3600,
                                  {"village_code": "110105101101", "institution_code": "T1101051011"},
                                  daily_limit=20, request_id="req-1")
    [event] = (load_event(m.body) for m in captured.messages)
    assert (event.event_type, event.service) == (events.ACCESS_GRANTED, "gateway")
    assert event.data["grant_id"] == grant.id == 7
    assert event.data["expires_at"] - event.data["granted_at"] == timedelta(hours=1)
    assert captured.messages[0].body["data"]["expires_at"] == grant.expires_at.isoformat()


@pytest.mark.parametrize("body,field", [
    (b"not json", "_body"),
    (b'{"schema": "ehr.event/1", "event_type": "archive_created"}', "event_id"),
    (b'{"schema": "ehr.event/1", "event_id": "e", "event_type": "archives_merged", "service": "registry", '
     b'"occurred_at": "2026-11-26T10:00:00+00:00", "data": {"merge_id": "42", "archive_no": "11010510110100003", '
     b'"merged_archive_no": "11010510110100007", "merged_identity_keys": []}}', "data"),
])
def test_the_reader_refuses_what_is_not_an_event_naming_the_field(body, field):
    with pytest.raises(InvalidEvent) as err:
        load_event(body)
    assert field in err.value.errors


# -- archive updates -----------------------------------------------------------------------------


def test_archive_updates_built_by_records_load_with_the_contract_and_an_undeclared_field_never_leaves():
    from services.records.revisions import update_message
    from services.records.repointing import moved_messages

    record = {"id": "38b3f5ae-0b38-5df4-9317-ee0f13a4b70e", "archive_no": "11010500300100042",
              "record_type": "hospital_encounter", "kind": "outpatient", "institution_code": "H3301020001",
              "source_record_id": "OP-1", "current_revision": 2, "diagnoses": ["I10"],
              "occurred_at": datetime.fromisoformat("2026-11-26T09:30:00+08:00")}
    filed = update_message(record["id"], record, "filed", 1)
    moved = moved_messages(record, "11010520110100007", cause="event-1")
    for message in [filed, *moved]:
        loaded = ArchiveUpdateSchema().load(message.body)
        assert loaded["archive_no"] == "11010500300100042" and "diagnoses" not in message.body
    assert "former_archive_no" not in filed.body
    assert {m.body["former_archive_no"] for m in moved} == {"11010520110100007"}


# -- the events of records, the programmes and referrals -------------------------------------------


def test_record_changed_built_by_records_with_its_programme_facts_loads_with_the_reader():
    from services.records.facts import programme_facts
    from services.records.revisions import changed_message

    occurred = datetime.fromisoformat("2026-11-26T09:30:00+08:00")
    facts = programme_facts("hospital_encounter", {"diagnoses": [{"code": "I10"}], "vital_signs": {"sbp": 185}})
    message = changed_message("38b3f5ae-0b38-5df4-9317-ee0f13a4b70e", {
        "archive_no": ARCHIVE_NO, "record_type": "hospital_encounter", "occurred_at": occurred,
        "institution_code": "H1101050001", "content": {"name": "王秀英"}}, "filed", 1, facts, ACTOR)
    event = load_event(message.body)
    assert (event.event_type, event.service) == (events.RECORD_CHANGED, "records")
    assert event.data["facts"]["urgent"] == ["sbp_180"] and event.data["facts"]["conditions"] == ["hypertension"]
    assert event.data["occurred_at"] == occurred and "content" not in message.body["data"]


@pytest.fixture
def programme_events(monkeypatch):
    from services.programmes import announce, residents, service_records, sweep

    monkeypatch.setattr(residents, "record_step", lambda *args, **kwargs: None)
    return SimpleNamespace(residents=residents, service_records=service_records, sweep=sweep,
                           captured=Captured(monkeypatch, announce))


def test_the_programmes_events_built_by_their_use_cases_load_with_the_consumers_reader(programme_events):
    from services.programmes.schedules import REFERRAL_URGENT

    resident = SimpleNamespace(id=3, archive_no=ARCHIVE_NO, institution_code="T1101051011")
    enrolment = SimpleNamespace(id=5, programme="hypertension", institution_code="T1101051011", status="active")
    programme_events.residents.end_enrolment(FakeSession(), enrolment, resident, "death", date(2026, 11, 20), ACTOR)

    row = SimpleNamespace(status="active", record_id="8f3e", record_type="hypertension_follow_up",
                          visit_date=date(2026, 12, 1), institution_code="T1101051011", announced_referrals=None)
    programme_events.service_records._announce_referrals(
        FakeSession(), resident, {"facts": {"urgent": ["sbp_180"], "programmes": ["hypertension"]}}, {}, ACTOR, row)

    due = SimpleNamespace(archive_no=ARCHIVE_NO, programme="hypertension", service="follow_up",
                          due_date=date(2026, 11, 20), due_reason="revisit_unsatisfactory",
                          institution_code="T1101051011", village_code="110105101101", responsible_doctor="doc01",
                          urgent=False)

    class Swept(FakeSession):
        def execute(self, *args, **kwargs):
            return SimpleNamespace(all=lambda: [due])

    assert programme_events.sweep.announce_due(Swept(), date(2026, 11, 26)) == (1, 1)

    ended, suggested, soon, overdue = (load_event(m.body) for m in programme_events.captured.messages)
    assert ended.event_type == events.ENROLMENT_ENDED and ended.service == "programmes"
    assert ended.data == {"archive_no": ARCHIVE_NO, "programme": "hypertension", "reason": "death",
                          "date": date(2026, 11, 20), "institution_code": "T1101051011"}
    assert suggested.event_type == events.REFERRAL_SUGGESTED
    assert (suggested.data["reason"], suggested.data["triggers"], suggested.data["visit_date"]) == (
        REFERRAL_URGENT, ["sbp_180"], date(2026, 12, 1))
    assert soon.event_type == events.FOLLOW_UP_DUE and overdue.event_type == events.FOLLOW_UP_OVERDUE
    assert overdue.data["days_overdue"] == 6 and overdue.data["due_date"] == date(2026, 11, 20)


def test_a_programmes_producer_that_drops_a_required_field_is_caught(programme_events, monkeypatch):
    from services.programmes import announce

    real = announce.event_message
    monkeypatch.setattr(announce, "event_message", lambda service, kind, data, actor: real(
        service, kind, {k: v for k, v in data.items() if k != "visit_date"}, actor))
    resident = SimpleNamespace(id=3, archive_no=ARCHIVE_NO, institution_code="T1101051011")
    row = SimpleNamespace(status="active", record_id="8f3e", record_type="hypertension_follow_up",
                          visit_date=date(2026, 12, 1), institution_code="T1101051011", announced_referrals=None)
    programme_events.service_records._announce_referrals(
        FakeSession(), resident, {"facts": {"urgent": ["sbp_180"], "programmes": ["hypertension"]}}, {}, ACTOR, row)
    with pytest.raises(InvalidEvent) as err:
        load_event(programme_events.captured.messages[0].body)
    assert err.value.errors == {"data": {"visit_date": ["Missing data for required field."]}}


def test_the_referrals_events_built_by_their_use_cases_load_with_the_consumers_reader(monkeypatch):
    from services.referrals import announce, consultations, referrals

    captured = Captured(monkeypatch, announce)
    deadline = datetime(2026, 12, 2, 2, 0, tzinfo=timezone.utc)
    referral = SimpleNamespace(id=7, archive_no=ARCHIVE_NO, state="accepted", urgency="urgent",
                               from_institution_code="T1101051011", from_doctor="doc01",
                               to_institution_code="H1101050001", deadline_at=deadline)
    referrals._event(FakeSession(), referral, "requested", ACTOR)
    consultation = SimpleNamespace(id=3, archive_no=ARCHIVE_NO, state="answered", from_institution_code="T1101051011",
                                   to_institution_code="H1101050001")
    consultations._event(FakeSession(), consultation, events.CONSULTATION_ANSWERED, ACTOR, record_id="5f0c")

    accepted, answered = (load_event(m.body) for m in captured.messages)
    assert (accepted.event_type, accepted.service) == (events.REFERRAL_ACCEPTED, "referrals")
    assert (accepted.data["from_state"], accepted.data["state"], accepted.data["deadline_at"]) == (
        "requested", "accepted", deadline)
    assert answered.event_type == events.CONSULTATION_ANSWERED and answered.data["record_id"] == "5f0c"


def test_every_event_a_consumer_handles_has_a_contract_and_every_contract_a_producer():
    """A consumer's `handle_<type>` (or `batch_<type>`) for an event without a payload schema
    would wait for an event that can never be built; a payload schema no service names is a
    contract without a producer."""
    from pathlib import Path

    from shared.events import EventConsumer
    from services.programmes.events import ProgrammeEvents
    from services.records.registry_events import RegistryEvents
    from services.referrals.events import ReferralEvents

    consumers = [ProgrammeEvents, RegistryEvents, ReferralEvents]
    assert {c.__name__ for c in EventConsumer.__subclasses__()} >= {c.__name__ for c in consumers}
    handled = {name.split("_", 1)[1] for consumer in consumers for name in set(dir(consumer)) - set(dir(EventConsumer))
               if name.startswith(("handle_", "batch_"))}
    assert handled and handled <= set(events.PAYLOADS), handled - set(events.PAYLOADS)

    root = Path(__file__).resolve().parents[2]
    names = {name: value for name, value in vars(events).items() if isinstance(value, str) and value in events.PAYLOADS}
    source = "\n".join(p.read_text() for p in (root / "services").rglob("*.py") if "migrations" not in p.parts)
    unproduced = {value for name, value in names.items() if name not in source and f'"{value}"' not in source}
    # the referrals' state events are named through lifecycle.EVENT_OF, as strings
    assert unproduced == set(), unproduced
