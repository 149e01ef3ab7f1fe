"""The set-up scripts on a machine that lacks what they need: PATH holds only the basic tools (no
Python, no PostgreSQL, no RabbitMQ), EHR_NO_INSTALL=1 forbids apt-get (CI runs as root), and the
scripts must say what is missing and the command that installs it, exit 69, and start nothing.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASICS = ("bash", "env", "id", "cat", "head", "od", "tr", "awk", "sort", "tail", "ls", "dirname", "timeout",
          "seq", "sleep", "mkdir", "chmod", "sha256sum", "cut", "rm", "touch")


def bare_path(tmp_path: Path) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in BASICS:
        found = shutil.which(tool)
        assert found, f"{tool} is a basic tool the test expects on the machine"
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(script: Path, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(script)], env={"PATH": bare_path(tmp_path), "HOME": str(tmp_path),
                                              "EHR_STATE_DIR": str(tmp_path / "state"), "EHR_NO_INSTALL": "1", **env},
                          capture_output=True, text=True, timeout=120)


def assert_told_plainly(done: subprocess.CompletedProcess) -> None:
    assert done.returncode == 69, done.stderr
    assert "command not found" not in done.stderr and "cannot access" not in done.stderr
    assert "installing" not in done.stderr and "starting" not in done.stderr


def test_without_postgresql_the_services_script_names_the_package_and_the_setting(tmp_path):
    url = f"postgresql://postgres:s3cret@127.0.0.1:{unused_port()}"
    done = run(ROOT / "scripts" / "services", tmp_path, EHR_DATABASE_URL=url)
    assert_told_plainly(done)
    assert "PostgreSQL" in done.stderr and "sudo apt-get install -y postgresql" in done.stderr
    assert url.replace("s3cret", "***") in done.stderr and "s3cret" not in done.stderr


def test_without_rabbitmq_the_services_script_names_the_package_and_the_setting(tmp_path):
    # PostgreSQL is running (the suite's own): the check gets past it to the broker.
    uri = f"amqp://guest:s3cret@127.0.0.1:{unused_port()}/"
    done = run(ROOT / "scripts" / "services", tmp_path, EHR_AMQP_URI=uri)
    assert_told_plainly(done)
    assert "RabbitMQ" in done.stderr and "sudo apt-get install -y rabbitmq-server" in done.stderr
    assert uri.replace("s3cret", "***") in done.stderr and "s3cret" not in done.stderr


def test_a_server_elsewhere_is_only_checked_for_and_named_by_its_setting(tmp_path):
    url = f"postgresql://ehr:s3cret@127.0.0.2:{unused_port()}"  # not this machine's name: nothing to start
    done = run(ROOT / "scripts" / "services", tmp_path, EHR_DATABASE_URL=url)
    assert_told_plainly(done)
    assert "is not reachable" in done.stderr and "(EHR_DATABASE_URL)" in done.stderr
    assert "apt-get" not in done.stderr and "s3cret" not in done.stderr


def test_without_a_supported_python_bootstrap_names_the_packages(tmp_path):
    clone = tmp_path / "clone"  # a clone without .venv
    (clone / "scripts").mkdir(parents=True)
    for name in ("bootstrap", "services", "lib.sh"):
        shutil.copy2(ROOT / "scripts" / name, clone / "scripts" / name)
    done = run(clone / "scripts" / "bootstrap", tmp_path)
    assert_told_plainly(done)
    assert "a supported Python (3.11, 3.12 or 3.13) is missing" in done.stderr
    assert "sudo apt-get install -y python3 python3-venv" in done.stderr
    assert not (clone / ".venv").exists()
