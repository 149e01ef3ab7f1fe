"""Property-based: whatever a hospital sends, each message ends filed, pending or quarantined
with a known reason, exactly once, and filing never raises (runs the filing use case on the
real records database; the registry, outside the records service, is a fake here)."""

import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from ehr.synthetic import Synthesizer
from services.records.filing import Intake, file_encounters
from shared.config import load_settings
from shared.delivery import Delivery
from shared.db import make_engine
from shared.messaging import BrokerAccounts
from shared.pii import service_box

REASONS = {"missing_message_id", "not_json", "schema_invalid", "invalid_id_number", "routing_mismatch",
           "unknown_institution", "publisher_mismatch", "too_large"}
INTERNAL = "guest"  # the account the tests' suite connects with (EHR_AMQP_URI)
INTAKE = Intake(BrokerAccounts(INTERNAL, "inst-"), max_bytes=4096)
KNOWN_INSTITUTIONS = {"H3301020001", "H1101050002"}

synth = Synthesizer(seed=3)
RESIDENTS = [synth.resident("110105003001", "C1101050031") for _ in range(5)]
# Archive numbers in the farm of the demo county, where no other test registers anyone.
REGISTERED = {r.id_number: f"110105101901{n + 90001:05d}" for n, r in enumerate(RESIDENTS[:3])}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)
FIELDS = [
    ("schema",), ("source",), ("source", "institution_code"), ("source", "record_id"), ("source", "version"),
    ("patient",), ("patient", "id_type"), ("patient", "id_number"), ("patient", "sex"), ("patient", "birth_date"),
    ("patient", "phone"), ("encounter",), ("encounter", "kind"), ("encounter", "started_at"),
    ("encounter", "ended_at"), ("encounter", "diagnoses"), ("encounter", "vital_signs"),
    ("encounter", "vital_signs", "sbp"), ("encounter", "prescriptions"), ("encounter", "results"),
    ("encounter", "summary"), ("unknown_extra",),
]
DELETE = object()


def _mutate(body, path, value):
    node = body
    for key in path[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            return
        node = node[key]
    if value is DELETE:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


@st.composite
def deliveries(draw):
    resident = draw(st.sampled_from(RESIDENTS))
    body = synth.encounter(resident, draw(st.sampled_from(sorted(KNOWN_INSTITUTIONS) + ["H9999999999"])),
                           record_id=f"P-{uuid.uuid4().hex[:12]}")
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(FIELDS))
        _mutate(body, path, draw(st.just(DELETE) | json_values))
    if draw(st.booleans()):
        digits = draw(st.text("0123456789Xx", min_size=0, max_size=19))
        _mutate(body, ("patient", "id_number"), digits)
    raw = draw(st.sampled_from(["json", "json", "json", "bytes"]))
    payload = json.dumps(body, ensure_ascii=False).encode() if raw == "json" else draw(st.binary(max_size=40))
    try:
        kind, inst = body["encounter"]["kind"], body["source"]["institution_code"]
        routing_key = f"encounter.{inst}.{kind}"
    except (KeyError, TypeError):
        routing_key = "encounter.H3301020001.outpatient"
    if draw(st.integers(0, 9)) == 0:
        routing_key = draw(st.text(max_size=20))
    if draw(st.integers(0, 9)) == 0:
        payload += b" " * 4096  # past the intake's bound
    message_id = None if draw(st.integers(0, 9)) == 0 else str(uuid.uuid4())
    user_id = draw(st.sampled_from([INTERNAL] * 6 + [None, "inst-H3301020001", "inst-H9999999999"]))
    return Delivery(payload, routing_key, message_id, "application/json", {}, False, user_id=user_id)


def fake_registry(queries):
    return [{"archive_no": REGISTERED[q["id_number"]], "status": "active", "village_code": "110105101901"}
            if q.get("id_number") in REGISTERED else None for q in queries]


@pytest.fixture(scope="module")
def records_db(suite_env):
    settings_ = load_settings()
    engine = make_engine(settings_.database_url_for("records"))
    yield engine, service_box(settings_, "records")
    engine.dispose()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(deliveries(), min_size=1, max_size=12))
def test_every_message_ends_filed_pending_or_quarantined_exactly_once(records_db, batch):
    engine, pii = records_db
    with Session(engine) as session:
        outcome = file_encounters(session, pii, batch, resolve=fake_registry,
                                  known_institutions=lambda codes: codes & KNOWN_INSTITUTIONS, intake=INTAKE)
    accounted = outcome.filed + outcome.amended + outcome.pending + outcome.quarantined + outcome.duplicates
    assert accounted == len(batch)
    ids = [d.message_id for d in batch if d.message_id]
    with engine.connect() as conn:
        import sqlalchemy as sa

        rows = conn.execute(sa.text("SELECT reason, details FROM quarantine WHERE message_id = ANY(:ids)"),
                            {"ids": ids}).all()
    for reason, details in rows:
        assert reason in REASONS
        assert isinstance(details, dict) and details
        for resident in RESIDENTS:
            assert resident.id_number not in json.dumps(details, ensure_ascii=False)
