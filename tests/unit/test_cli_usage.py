"""The `ehr` command as a script sees it: a version, help on every command and option, JSON
arrays from the lists, and exit statuses that tell a failed check (1) and wrong usage (2) from
something that could not be reached (69). Nothing here needs the suite running: what cannot be
reached is a port nobody listens on."""

from __future__ import annotations

import socket

import click
import pytest
from click.testing import CliRunner

from ehr import exit_codes
from ehr.cli import main


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed when the socket is: nobody listens there


@pytest.fixture
def nowhere(closed_port, monkeypatch, tmp_path):
    """Every database, the broker and its management API at a closed port; keys of a state
    directory of this test's own."""
    monkeypatch.setattr("ehr.state.STATE_DIR", tmp_path)
    url = f"postgresql://postgres@127.0.0.1:{closed_port}"
    for name, value in {"EHR_DATABASE_URL": url, "EHR_GATEWAY_DATABASE_URL": f"{url}/gateway",
                        "EHR_REGISTRY_DATABASE_URL": f"{url}/registry",
                        "EHR_AMQP_URI": f"amqp://guest:guest@127.0.0.1:{closed_port}/",
                        "EHR_BROKER_ADMIN_URL": f"http://guest:guest@127.0.0.1:{closed_port}"}.items():
        monkeypatch.setenv(name, value)
    return url


def commands(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


def test_ehr_version_names_the_suites_version():
    from importlib.metadata import version

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"ehr {version('ehr-suite')}\n"


def test_every_command_and_every_option_says_what_it_is_for():
    undocumented = [" ".join(path) for path, command in commands(main) if not (command.help or "").strip()]
    assert undocumented == []
    options = [f"{' '.join(path)} {param.opts[0]}" for path, command in commands(main)
               for param in command.params if isinstance(param, click.Option) and not param.help]
    assert options == []
    assert len(list(commands(main))) > 30


def test_every_list_command_takes_json():
    lists = {" ".join(path) for path, command in commands(main)
             if path[-1] == "list" or path in (("audit", "archive"), ("audit", "user"))}
    assert lists == {"user list", "apikey list", "quarantine list", "pending list", "broker list", "sync list",
                     "audit archive", "audit user", "referrals quarantine list"}
    for path, command in commands(main):
        if " ".join(path) in lists:
            assert "as_json" in {p.name for p in command.params}, path


def test_the_top_help_documents_the_exit_statuses():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "--version" in result.output and "--json" in result.output
    for status in ("0 done", "1 a check failed", "2 wrong usage", "69 could not connect"):
        assert status in " ".join(result.output.split()), status


def test_wrong_usage_exits_2():
    assert CliRunner().invoke(main, ["user", "add", "doc01"]).exit_code == exit_codes.USAGE  # no --institution
    assert CliRunner().invoke(main, ["nosuch"]).exit_code == exit_codes.USAGE


@pytest.mark.parametrize("command", [
    ["audit", "verify"],
    ["audit", "head"],
    ["user", "list", "--json"],
    ["apikey", "list"],
    ["user", "add", "doc01", "--institution", "T1101051011", "--role", "township_doctor", "--password-stdin"],
    ["broker", "list", "--json"],
    ["broker", "grant", "H1101050001"],
])
def test_a_database_or_broker_that_cannot_be_reached_exits_69_naming_the_setting(nowhere, command):
    result = CliRunner().invoke(main, command, input="a long enough password\n")
    assert result.exit_code == exit_codes.UNAVAILABLE, result.output
    assert "EHR_" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1  # one readable line


def test_the_operators_rpc_commands_exit_69_when_the_broker_cannot_be_reached(nowhere):
    result = CliRunner().invoke(main, ["quarantine", "list", "--json"])
    assert result.exit_code == exit_codes.UNAVAILABLE, result.output
    assert "EHR_AMQP_URI" in result.output


def test_an_import_into_an_unreachable_registry_exits_69(nowhere, tmp_path):
    divisions = tmp_path / "divisions.csv"
    divisions.write_text("code,name,level,parent_code\n110105,朝阳区,county,\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["import", "reference", "--divisions", str(divisions)])
    assert result.exit_code == exit_codes.UNAVAILABLE, result.output
    assert "EHR_REGISTRY_DATABASE_URL" in result.output

