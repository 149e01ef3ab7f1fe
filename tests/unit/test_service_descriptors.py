"""One descriptor per service, one list of them (`services.SERVICES`): every service package has
its descriptor, and what runs or prepares the suite takes its services from that list, so a new
service is one folder and one line."""

from __future__ import annotations

import importlib
import io
import logging
import os
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

import ehr.setup
import ehr.supervisor
import services
import shared.config
from ehr.cli import main
from shared.service import ServiceDescriptor

ROOT = Path(__file__).resolve().parents[2]
EXTRA = ServiceDescriptor(name="screening", entrypoint="services.screening.service:ScreeningService",
                          migrations=ROOT / "services" / "screening" / "migrations",
                          keys=("EHR_SERVICE_KEY",), queues=("screening.events",))


@pytest.fixture
def with_extra_service(monkeypatch):
    monkeypatch.setattr(services, "SERVICES", (*services.SERVICES, EXTRA))
    return EXTRA


def test_every_service_package_has_its_descriptor_in_the_list():
    packages = sorted(p.parent.name for p in (ROOT / "services").glob("*/service.py"))
    assert packages == sorted(services.names())
    for name in packages:
        descriptor = importlib.import_module(f"services.{name}.descriptor")
        listed = [value for value in vars(descriptor).values() if isinstance(value, ServiceDescriptor)]
        assert listed == [services.service(name)]
        assert listed[0].migrations == ROOT / "services" / name / "migrations"
        assert listed[0].entrypoint.startswith(f"services.{name}.service:")


def test_a_descriptor_names_its_database_variables_and_loads_its_class():
    registry = services.service("registry")
    assert registry.database_url_variable == "EHR_REGISTRY_DATABASE_URL"
    assert registry.database_password_variable == "EHR_REGISTRY_DATABASE_PASSWORD"
    assert registry.load().name == "registry"
    with pytest.raises(KeyError, match="registry, records, gateway"):
        services.service("nope")


def test_descriptors_import_no_framework():
    source = (ROOT / "shared" / "service.py").read_text() + "".join(
        (ROOT / "services" / name / "descriptor.py").read_text() for name in services.names())
    assert not re.search(r"^\s*(import|from) (nameko|eventlet|kombu)", source, re.MULTILINE)


def test_the_work_queues_the_descriptors_consume_are_the_ones_the_topology_declares():
    from shared.transport.topology import WORK_QUEUES

    assert {q for s in services.SERVICES for q in s.queues} == {q.name for q in WORK_QUEUES}


def test_each_setting_of_one_service_belongs_to_one_service_and_is_documented():
    documented = set(re.findall(r"EHR_[A-Z_]+", shared.config.__doc__))
    owned = [variable for s in services.SERVICES for variable in s.settings]
    assert len(owned) == len(set(owned)) and set(owned) <= documented
    gateway = services.service("gateway")
    assert {"EHR_GATEWAY_HOST", "EHR_TOKEN_LIFETIME", "EHR_MAX_BODY_BYTES"} <= set(gateway.settings)
    assert not {"EHR_PII_KEY", "EHR_RECORDS_PII_KEY", "EHR_INDEX_KEY"} & set(gateway.keys + gateway.optional_keys)


def test_ehr_migrate_migrates_every_listed_service(monkeypatch, with_extra_service):
    migrated = []
    monkeypatch.setattr(ehr.setup, "prepare_database", lambda name, path, settings: migrated.append((name, path)))
    ehr.setup.migrate_all(settings=object())
    assert migrated[-1] == ("screening", EXTRA.migrations)
    assert [name for name, _ in migrated] == ["registry", "records", "gateway", "programmes", "referrals", "sync",
                                              "screening"]


def test_ehr_up_starts_every_listed_service_with_only_its_keys(monkeypatch, with_extra_service):
    spawned = {}
    monkeypatch.setattr(ehr.supervisor.subprocess, "Popen",
                        lambda args, env, **kw: spawned.setdefault(args[-1], []).append(env))
    monkeypatch.setenv("EHR_PII_KEY", shared.config.generate_key())
    monkeypatch.setenv("EHR_SERVICE_KEY", shared.config.generate_key())
    sup = ehr.supervisor.Supervisor({"screening": 2})
    sup.start()
    assert set(spawned) == {"registry", "records", "gateway", "programmes", "referrals", "sync", "screening"}
    assert sup.replicas["screening"] == 2
    assert [env["EHR_PROCESS"] for env in spawned["screening"]] == ["screening.1", "screening.2"]
    assert all("EHR_PII_KEY" not in env and "EHR_SERVICE_KEY" in env for env in spawned["screening"])
    assert "EHR_PII_KEY" in spawned["registry"][0]


def test_the_text_logs_of_each_process_are_relayed_prefixed_with_its_name():
    lines = []
    sup = ehr.supervisor.Supervisor({"records": 2}, echo=lines.append, log_format="text")
    sup._relay("records.2", io.StringIO("12:00:01 INFO  batch filed count=50\n12:00:02 INFO  idle\n"))
    # padded to the longest process name (`programmes.1`)
    assert lines == ["records.2    | 12:00:01 INFO  batch filed count=50", "records.2    | 12:00:02 INFO  idle"]


@pytest.mark.parametrize("requested, environ, tty, expected", [
    (None, {}, True, "text"), (None, {}, False, "json"), ("json", {}, True, "json"),
    (None, {"EHR_LOG_FORMAT": "json"}, True, "json"), ("text", {}, False, "text")])
def test_ehr_up_logs_text_on_a_terminal_and_json_otherwise_or_when_asked(requested, environ, tty, expected):
    stream = io.StringIO()
    stream.isatty = lambda: tty
    assert ehr.supervisor.log_format_for(requested, environ, stream) == expected


# --- the text log format --------------------------------------------------------------------


def _record(msg: str, level=logging.INFO, **extra) -> logging.LogRecord:
    record = logging.LogRecord("services.records.filing", level, __file__, 1, msg, (), None)
    record.__dict__.update(extra)
    return record


def test_the_text_format_is_one_readable_line_with_the_key_fields():
    from shared.logs import TextFormatter

    line = TextFormatter().format(_record("batch filed", count=50, queue="records.encounters", note="two words",
                                          client_request_id=None))
    assert re.fullmatch(r'\d\d:\d\d:\d\d INFO  batch filed count=50 queue=records\.encounters note="two words"', line)
    assert "{" not in line and "services.records.filing" not in line


def test_the_text_format_masks_personal_data_and_shortens_warnings():
    from shared.logs import TextFormatter

    line = TextFormatter().format(_record("refused 11010519491231002X", logging.WARNING, phone="13800138000"))
    assert " WARN  " in line
    assert "11010519491231002X" not in line and "13800138000" not in line and "002X" in line


def test_json_lines_stay_the_default_and_carry_the_process():
    from shared.logs import configure_logging

    stream = io.StringIO()
    configure_logging(service="records", stream=stream, process="records.2")
    try:
        logging.getLogger("x").info("batch filed", extra={"count": 3})
    finally:
        configure_logging()
    assert '"msg": "batch filed"' in stream.getvalue() and '"process": "records.2"' in stream.getvalue()


# --- settings from files --------------------------------------------------------------------


def test_any_setting_can_be_given_as_a_file(tmp_path):
    key = shared.config.generate_key()
    (tmp_path / "pii").write_text(key + "\n")
    (tmp_path / "prefix").write_text("county7")
    settings = shared.config.load_settings({"EHR_PII_KEY_FILE": str(tmp_path / "pii"),
                                            "EHR_DB_PREFIX_FILE": str(tmp_path / "prefix")})
    assert settings.pii_key == __import__("base64").b64decode(key)
    assert settings.db_prefix == "county7"


def test_a_setting_given_both_ways_or_as_an_unreadable_file_is_refused(tmp_path):
    (tmp_path / "pii").write_text(shared.config.generate_key())
    with pytest.raises(shared.config.ConfigError, match="both EHR_PII_KEY and EHR_PII_KEY_FILE"):
        shared.config.load_settings({"EHR_PII_KEY": shared.config.generate_key(),
                                     "EHR_PII_KEY_FILE": str(tmp_path / "pii")})
    with pytest.raises(shared.config.ConfigError, match="EHR_TOKEN_KEY_FILE names a file that cannot be read"):
        shared.config.load_settings({"EHR_TOKEN_KEY_FILE": str(tmp_path / "missing")})


def test_a_service_is_given_only_its_own_key_files():
    env = {"EHR_PII_KEY_FILE": "/run/secrets/pii", "EHR_TOKEN_KEY_FILE": "/run/secrets/token",
           "EHR_SERVICE_KEY_FILE": "/run/secrets/service", "EHR_AMQP_URI": "amqp://x"}
    gateway = shared.config.service_environment(services.service("gateway"), env)
    assert gateway == {"EHR_TOKEN_KEY_FILE": "/run/secrets/token", "EHR_SERVICE_KEY_FILE": "/run/secrets/service",
                       "EHR_AMQP_URI": "amqp://x"}


def test_ehr_up_generates_no_key_that_is_given_as_a_file(tmp_path, monkeypatch):
    key_file = tmp_path / "pii"
    key_file.write_text(shared.config.generate_key())
    for name in ehr.setup.KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name + "_FILE", raising=False)
    monkeypatch.setenv("EHR_PII_KEY_FILE", str(key_file))
    ehr.setup.ensure_keys(tmp_path / "state")
    stored = (tmp_path / "state" / "secrets.env").read_text()
    assert "EHR_PII_KEY=" not in stored and "EHR_TOKEN_KEY=" in stored
    assert "EHR_PII_KEY" not in os.environ
    shared.config.load_settings()  # one of each, no conflict


def test_ehr_keys_writes_a_new_file_only_its_owner_can_read(tmp_path):
    target = tmp_path / ".env"
    result = CliRunner().invoke(main, ["keys", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert {line.split("=")[0] for line in target.read_text().splitlines()} == set(ehr.setup.KEY_VARIABLES)
    again = CliRunner().invoke(main, ["keys", "--output", str(target)])
    assert again.exit_code != 0 and "never overwritten" in again.output
