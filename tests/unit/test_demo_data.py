"""Demo data only when asked for: `ehr migrate` and docker-compose's migrate step load no demo
county, and the API keys a demo run makes end with the run."""

import pytest
import yaml
from click.testing import CliRunner

import ehr.access
import ehr.broker
import ehr.demo
import ehr.setup
from ehr.cli import main
from ehr.setup import ROOT


@pytest.fixture
def loads(monkeypatch):
    """What migrate_all did: the services it migrated and whether it loaded the demo county."""
    calls = []
    monkeypatch.setattr(ehr.setup, "prepare_database", lambda service, path, settings: calls.append(service) or True)
    monkeypatch.setattr(ehr.setup, "has_reference_data", lambda settings: False)
    monkeypatch.setattr(ehr.setup, "load_demo_reference_data", lambda settings: calls.append("demo county"))
    return calls


def test_ehr_migrate_loads_no_demo_county_unless_asked(loads):
    result = CliRunner().invoke(main, ["migrate"])
    assert result.exit_code == 0, result.output
    assert loads == ["registry", "records", "gateway", "programmes", "referrals", "sync"]


def test_ehr_migrate_with_demo_data_loads_the_demo_county(loads):
    result = CliRunner().invoke(main, ["migrate", "--demo-data"])
    assert result.exit_code == 0, result.output
    assert loads[-1] == "demo county"


def test_migrate_all_loads_no_demo_county_by_default(loads):
    ehr.setup.migrate_all(settings=object())
    assert "demo county" not in loads


def test_docker_compose_migrates_without_demo_data():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["services"]["migrate"]["command"] == ["migrate"]


@pytest.mark.parametrize("feed_fails", [False, True])
def test_ehr_demo_revokes_the_demo_keys_it_made_when_it_ends(monkeypatch, feed_fails):
    events = []
    monkeypatch.setattr(ehr.access, "create_demo_keys", lambda: events.append("created") or {"T1": "ehrk_1"})
    monkeypatch.setattr(ehr.access, "revoke_demo_keys", lambda codes: events.append(("revoked", sorted(codes))))

    monkeypatch.setattr(ehr.broker, "grant_demo_accounts", lambda settings: {"H1": "amqp://inst-H1@broker/"})

    def feed(gateway, keys, brokers, **kwargs):
        events.append(("fed", keys))
        if feed_fails:
            raise ConnectionRefusedError("the gateway is not up")

    monkeypatch.setattr(ehr.demo, "run_demo", feed)
    CliRunner().invoke(main, ["demo", "--residents", "1"])
    assert events == ["created", ("fed", {"T1": "ehrk_1"}), ("revoked", ["T1"])]
