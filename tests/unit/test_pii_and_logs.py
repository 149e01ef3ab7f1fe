"""Encryption, blind indexes, key rotation, and the logging that never shows personal data."""

import base64
import io
import json
import logging
import re

import pytest
from click.testing import CliRunner

import shared.config
from services import SERVICES, service
from shared.config import ConfigError, generate_key, is_key_variable, load_settings, service_environment
from shared.identity import mask_id_number, mask_phone
from shared.logs import configure_logging, scrub
from shared.pii import DecryptionFailed, PiiBox
from tests.support.db import server_url
from tests.support.pii import legacy_encrypt


def key() -> bytes:
    return base64.b64decode(generate_key())


ID = ("archives.id_number_enc", "11010500300100001")  # where a token lives: column and row key


def test_encryption_round_trips_and_hides_the_plaintext():
    box = PiiBox(key(), key())
    token = box.encrypt("11010519491231002X", *ID)
    assert b"11010519491231002X" not in token
    assert box.decrypt(token, *ID) == "11010519491231002X"
    assert box.encrypt("11010519491231002X", *ID) != token  # random nonce


def test_tampered_ciphertext_is_refused():
    box = PiiBox(key(), key())
    token = bytearray(box.encrypt("13800000000", *ID))
    token[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        box.decrypt(bytes(token), *ID)


def test_a_ciphertext_opens_only_in_its_own_table_column_and_row():
    box = PiiBox(key(), key())
    token = box.encrypt("11010519491231002X", "archives.id_number_enc", "11010500300100001")
    for column, row_key in (("archives.id_number_enc", "11010500300100002"),   # another row
                            ("archives.phone_enc", "11010500300100001"),       # another column
                            ("merges.id_number_enc", "11010500300100001")):    # another table
        with pytest.raises(DecryptionFailed):
            box.decrypt(token, column, row_key)
    assert box.decrypt(token, "archives.id_number_enc", "11010500300100001") == "11010519491231002X"


def test_a_ciphertext_of_the_first_format_still_opens_and_is_due_for_reencryption():
    current, index_key = key(), key()
    box = PiiBox(current, index_key)
    legacy = legacy_encrypt(current, b"13800000000")
    assert box.decrypt(legacy, *ID) == "13800000000"
    assert box.needs_reencryption(legacy)  # the current key sealed it, but bound to nothing
    assert not box.needs_reencryption(box.encrypt("13800000000", *ID))
    altered = bytearray(legacy)
    altered[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        box.decrypt(bytes(altered), *ID)


def test_blind_index_is_stable_per_key_and_namespace():
    index_key = key()
    a, b = PiiBox(key(), index_key), PiiBox(key(), index_key)
    assert a.blind_index("id:01", "X1") == b.blind_index("id:01", "X1")
    assert a.blind_index("id:01", "X1") != a.blind_index("id:02", "X1")
    assert a.blind_index("id:01", "X1") != PiiBox(key(), key()).blind_index("id:01", "X1")


def test_a_rotated_key_still_reads_old_ciphertext_and_writes_with_the_new_one():
    old, new, index_key = key(), key(), key()
    token = PiiBox(old, index_key).encrypt("13800000000", *ID)
    rotated = PiiBox(new, index_key, old_keys=(old,))
    assert rotated.decrypt(token, *ID) == "13800000000"
    assert rotated.needs_reencryption(token)
    assert not rotated.needs_reencryption(rotated.encrypt("13800000000", *ID))
    with pytest.raises(DecryptionFailed):
        PiiBox(new, index_key).decrypt(token, *ID)


def test_settings_refuse_malformed_keys_without_echoing_them():
    with pytest.raises(ConfigError) as err:
        load_settings({"EHR_PII_KEY": "c2hvcnQ="})
    assert "c2hvcnQ" not in str(err.value)
    with pytest.raises(ConfigError):
        load_settings({}).require_keys()


@pytest.mark.parametrize("first, second", [
    ("EHR_PII_KEY", "EHR_INDEX_KEY"),
    ("EHR_PII_KEY", "EHR_TOKEN_KEY"),
    ("EHR_PII_KEY", "EHR_RECORDS_PII_KEY"),
    ("EHR_INDEX_KEY", "EHR_RECORDS_PII_KEY"),
    ("EHR_PII_OLD_KEYS", "EHR_TOKEN_KEY"),            # an old key of one purpose, the key of another
    ("EHR_RECORDS_PII_OLD_KEYS", "EHR_PII_KEY"),
    ("EHR_AUDIT_KEY", "EHR_INDEX_KEY"),               # any EHR_*_KEY, also one this module does not know
    ("EHR_SERVICE_HMAC_KEY", "EHR_TOKEN_KEY"),
])
def test_settings_refuse_one_key_for_two_purposes_naming_the_variables_not_the_key(first, second):
    shared = generate_key()
    env = {"EHR_PII_KEY": generate_key(), "EHR_RECORDS_PII_KEY": generate_key(), "EHR_INDEX_KEY": generate_key(),
           "EHR_TOKEN_KEY": generate_key()}
    env[first] = f"{generate_key()},{shared}" if first.endswith("_KEYS") else shared
    env[second] = shared
    with pytest.raises(ConfigError) as err:
        load_settings(env)
    assert first in str(err.value) and second in str(err.value)
    assert shared not in str(err.value) and shared[:8] not in str(err.value)


def test_settings_accept_a_retired_key_of_two_purposes_and_the_current_key_among_its_old_ones():
    former, registry, records = generate_key(), generate_key(), generate_key()
    settings = load_settings({"EHR_PII_KEY": registry, "EHR_PII_OLD_KEYS": f"{former},{registry}",
                              "EHR_RECORDS_PII_KEY": records, "EHR_RECORDS_PII_OLD_KEYS": former,
                              "EHR_INDEX_KEY": generate_key()})
    assert settings.pii_keys("records") == (base64.b64decode(records), (base64.b64decode(former),),
                                            settings.index_key)


def test_each_service_is_given_and_requires_only_its_own_keys():
    env = {"EHR_PII_KEY": generate_key(), "EHR_PII_OLD_KEYS": generate_key(), "EHR_RECORDS_PII_KEY": generate_key(),
           "EHR_RECORDS_PII_OLD_KEYS": generate_key(), "EHR_INDEX_KEY": generate_key(),
           "EHR_TOKEN_KEY": generate_key(), "EHR_AUDIT_KEY": generate_key(), "EHR_SERVICE_KEY": generate_key(),
           "EHR_SYNC_KEY": generate_key(), "EHR_AMQP_URI": "amqp://x", "EHR_LOG_LEVEL": "INFO"}
    given = {s.name: {name for name in service_environment(s, env) if name.endswith(("_KEY", "_KEYS"))}
             for s in SERVICES}
    assert given == {"registry": {"EHR_PII_KEY", "EHR_PII_OLD_KEYS", "EHR_INDEX_KEY", "EHR_SERVICE_KEY", "EHR_SYNC_KEY"},
                     "records": {"EHR_RECORDS_PII_KEY", "EHR_RECORDS_PII_OLD_KEYS", "EHR_INDEX_KEY",
                                 "EHR_SERVICE_KEY"},
                     "gateway": {"EHR_TOKEN_KEY", "EHR_AUDIT_KEY", "EHR_SERVICE_KEY"},
                     "programmes": {"EHR_SERVICE_KEY"}, "referrals": {"EHR_SERVICE_KEY"},
                     "sync": {"EHR_SERVICE_KEY", "EHR_SYNC_KEY"}}
    assert all(service_environment(s, env)["EHR_AMQP_URI"] == "amqp://x" for s in SERVICES)
    gateway = load_settings(service_environment(service("gateway"), env))
    gateway.require_service_keys(service("gateway"))
    assert gateway.pii_key is None and gateway.records_pii_key is None and gateway.index_key is None
    with pytest.raises(ConfigError, match="EHR_RECORDS_PII_KEY"):
        load_settings(service_environment(service("registry"), env)).pii_keys("records")
    with pytest.raises(ConfigError, match="no PII key"):
        gateway.pii_keys("gateway")


def test_every_documented_key_variable_is_given_to_a_service():
    """A key added to shared/config.py must be handed to the services that use it (descriptors' keys),
    or `ehr up` and docker-compose withhold it."""
    documented = set(re.findall(r"^    (EHR_[A-Z0-9_]+)", shared.config.__doc__, re.MULTILINE))
    keys = {name for name in documented if is_key_variable(name)}
    assert {"EHR_PII_KEY", "EHR_RECORDS_PII_KEY", "EHR_INDEX_KEY", "EHR_TOKEN_KEY"} <= keys
    assigned = {name for s in SERVICES for name in (*s.keys, *s.optional_keys)}
    assert keys <= assigned


def test_ehr_up_starts_each_service_process_with_only_its_own_keys(monkeypatch):
    import ehr.supervisor

    spawned = {}
    monkeypatch.setattr(ehr.supervisor.subprocess, "Popen", lambda args, env, **kw: spawned.setdefault(args[-1], env))
    for name in ("EHR_PII_KEY", "EHR_RECORDS_PII_KEY", "EHR_INDEX_KEY", "EHR_TOKEN_KEY", "EHR_AUDIT_KEY",
                 "EHR_SERVICE_KEY", "EHR_SYNC_KEY"):
        monkeypatch.setenv(name, generate_key())
    for name in ("EHR_PII_OLD_KEYS", "EHR_RECORDS_PII_OLD_KEYS"):
        monkeypatch.delenv(name, raising=False)
    ehr.supervisor.Supervisor({}).start()
    given = {service: {name for name in env if is_key_variable(name)} for service, env in spawned.items()}
    assert given == {"registry": {"EHR_PII_KEY", "EHR_INDEX_KEY", "EHR_SERVICE_KEY", "EHR_SYNC_KEY"},
                     "records": {"EHR_RECORDS_PII_KEY", "EHR_INDEX_KEY", "EHR_SERVICE_KEY"},
                     "gateway": {"EHR_TOKEN_KEY", "EHR_AUDIT_KEY", "EHR_SERVICE_KEY"},
                     "programmes": {"EHR_SERVICE_KEY"}, "referrals": {"EHR_SERVICE_KEY"},
                     "sync": {"EHR_SERVICE_KEY", "EHR_SYNC_KEY"}}


def test_the_gateway_starts_without_pii_keys(monkeypatch):
    import ehr.runner
    from ehr.cli import main

    started = []
    monkeypatch.setattr(ehr.runner, "run_service", started.append)
    env = {"EHR_TOKEN_KEY": generate_key(), "EHR_AUDIT_KEY": generate_key(), "EHR_SERVICE_KEY": generate_key(),
           "EHR_PII_KEY": "", "EHR_INDEX_KEY": "", "EHR_RECORDS_PII_KEY": ""}
    result = CliRunner().invoke(main, ["run", "gateway"], env=env)
    assert result.exit_code == 0, result.output
    assert started == ["gateway"]
    refused = CliRunner().invoke(main, ["run", "records"], env=env)
    assert refused.exit_code != 0 and "EHR_RECORDS_PII_KEY" in refused.output and started == ["gateway"]


def test_each_service_gets_its_own_database_and_overrides_win():
    settings = load_settings({"EHR_DB_PREFIX": "x", "EHR_RECORDS_DATABASE_URL": "postgresql://h/r"})
    assert settings.database_url_for("registry").endswith("/x_registry")
    assert settings.database_url_for("records") == "postgresql://h/r"


def test_scrub_masks_id_and_phone_numbers_but_not_archive_numbers():
    text = "id 11010519491231002X old 110105491231002 tel 13800138000 archive 11010500300100042"
    masked = scrub(text)
    assert "11010519491231002X" not in masked and "110105491231002" not in masked
    assert "13800138000" not in masked
    assert "11010500300100042" in masked


@pytest.mark.parametrize("written", [
    "110105 19491231 002X", "110105-19491231-002X", "110105 1949 1231 002X", "110105-1949-1231-002x",
    "110105 491231 002"])
def test_scrub_masks_id_numbers_written_in_groups(written):
    masked = scrub(f"患者身份证 {written}，请核对")
    digits = written.replace(" ", "").replace("-", "")
    assert masked == f"患者身份证 {mask_id_number(digits)}，请核对"
    assert "19491231" not in masked and "1949 1231" not in masked and "491231" not in masked


@pytest.mark.parametrize("written", ["138 0000 0000", "138-0000-0000", "+86 139 1234 5678"])
def test_scrub_masks_phone_numbers_written_in_groups(written):
    masked = scrub(f"tel {written}.")
    digits = written.removeprefix("+86 ").replace(" ", "").replace("-", "")
    assert masked == f"tel {'+86 ' if written.startswith('+86') else ''}{mask_phone(digits)}."


@pytest.mark.parametrize("ordinary", [
    "filed 2026-11-20 at 12:30:45", "batch 138 of 2000, 4096 rows", "1380 records in 0000 s", "2026 11 20",
    "archive 11010500300100042", "village 110105003001 township 110105003", "counts 12 34 56 78 90",
    "138 0000 00000", "110105 19491231 002X9", "range 110105-491231 and 002", "1 380 000 000 yuan"])
def test_scrub_leaves_dates_counts_and_archive_numbers_alone(ordinary):
    assert scrub(ordinary) == ordinary


def test_log_lines_are_json_and_scrubbed_even_when_code_slips():
    stream = io.StringIO()
    configure_logging(service="records", level="INFO", stream=stream)
    logging.getLogger("t").info("resident %s", "11010519491231002X", extra={"archive_no": "11010500300100042"})
    entry = json.loads(stream.getvalue().splitlines()[-1])
    assert entry["service"] == "records" and entry["archive_no"] == "11010500300100042"
    assert "11010519491231002X" not in stream.getvalue()
    logging.getLogger().handlers.clear()


def test_a_logged_database_error_does_not_repeat_the_values_of_its_statement():
    import sqlalchemy as sa

    from shared.db import make_engine

    stream = io.StringIO()
    configure_logging(service="registry", level="INFO", stream=stream)
    engine = make_engine(server_url("postgres"), pool_size=1)
    params = {"name": "".join(["张", "秀英"])}  # the traceback shows source lines, not this value
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT :name FROM no_such_table"), params)
    except sa.exc.DBAPIError:
        logging.getLogger("t").exception("worker failed")
    finally:
        engine.dispose()
        logging.getLogger().handlers.clear()
    entry = json.loads(stream.getvalue().splitlines()[-1])
    assert "ProgrammingError (SQLSTATE 42P01; message withheld)" in entry["exc"]
    assert "张秀英" not in stream.getvalue()
