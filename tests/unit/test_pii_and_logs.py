"""Encryption, blind indexes, key rotation, and the logging that never shows personal data."""

import io
import json
import logging

import pytest

from shared.config import ConfigError, generate_key, load_settings
from shared.identity import mask_id_number, mask_phone
from shared.logs import configure_logging, scrub
from shared.pii import DecryptionFailed, PiiBox
import base64


def key() -> bytes:
    return base64.b64decode(generate_key())


def test_encryption_round_trips_and_hides_the_plaintext():
    box = PiiBox(key(), key())
    token = box.encrypt("11010519491231002X")
    assert b"11010519491231002X" not in token
    assert box.decrypt(token) == "11010519491231002X"
    assert box.encrypt("11010519491231002X") != token  # random nonce


def test_tampered_ciphertext_is_refused():
    box = PiiBox(key(), key())
    token = bytearray(box.encrypt("13800000000"))
    token[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        box.decrypt(bytes(token))


def test_blind_index_is_stable_per_key_and_namespace():
    index_key = key()
    a, b = PiiBox(key(), index_key), PiiBox(key(), index_key)
    assert a.blind_index("id:01", "X1") == b.blind_index("id:01", "X1")
    assert a.blind_index("id:01", "X1") != a.blind_index("id:02", "X1")
    assert a.blind_index("id:01", "X1") != PiiBox(key(), key()).blind_index("id:01", "X1")


def test_a_rotated_key_still_reads_old_ciphertext_and_writes_with_the_new_one():
    old, new, index_key = key(), key(), key()
    token = PiiBox(old, index_key).encrypt("13800000000")
    rotated = PiiBox(new, index_key, old_keys=(old,))
    assert rotated.decrypt(token) == "13800000000"
    assert rotated.needs_reencryption(token)
    assert not rotated.needs_reencryption(rotated.encrypt("13800000000"))
    with pytest.raises(DecryptionFailed):
        PiiBox(new, index_key).decrypt(token)


def test_settings_refuse_malformed_keys_without_echoing_them():
    with pytest.raises(ConfigError) as err:
        load_settings({"EHR_PII_KEY": "c2hvcnQ="})
    assert "c2hvcnQ" not in str(err.value)
    with pytest.raises(ConfigError):
        load_settings({}).require_keys()


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
    engine = make_engine("postgresql://postgres@127.0.0.1:5432/postgres", pool_size=1)
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
