"""What `ehr platform` (ehr/cli.py) does with its options: the token, the data directory and
whether fault control is on, then the server until Ctrl-C."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import sys
import secrets
import tempfile
from pathlib import Path

import click


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve(host: str, token: str | None, data_dir: Path | None, control: bool | None,
            environ) -> tuple[str, Path, bool]:
    """(token, data directory, control) from the options and the environment."""
    if data_dir is None:
        state = environ.get("EHR_STATE_DIR")
        data_dir = Path(state) / "platform" if state else Path(tempfile.mkdtemp(prefix="ehr-platform-"))
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    if not token and environ.get("EHR_PLATFORM_TOKEN_FILE"):
        try:
            token = Path(environ["EHR_PLATFORM_TOKEN_FILE"]).read_text().strip()
        except OSError as exc:
            raise click.ClickException(f"EHR_PLATFORM_TOKEN_FILE names a file that cannot be read ({exc.strerror})")
    if not token:
        path = data_dir / "token"
        if path.exists():
            token = path.read_text().strip()
        else:
            token = secrets.token_urlsafe(32)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(token + "\n")
        click.echo(f"platform token: in {path}", err=True)
    if control is None:
        control = _loopback(host)
    return token, data_dir, control


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": self.formatTime(record), "level": record.levelname, "logger": record.name,
                "message": record.getMessage(), "process": os.environ.get("EHR_PROCESS", "platform")}
        return json.dumps(line, ensure_ascii=False)


def run(token: str, data_dir: Path, control: bool, *, host: str, port: int) -> None:
    """Serve until Ctrl-C or SIGTERM, logging in the form `ehr up` asks for (EHR_LOG_FORMAT)."""
    from ehr.platform.server import serve

    handler = logging.StreamHandler(sys.stdout)
    if os.environ.get("EHR_LOG_FORMAT") == "json":
        handler.setFormatter(_JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s", "%H:%M:%S"))
    log = logging.getLogger("ehr.platform")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        serve(host, port, token, data_dir, control=control, echo=log.info)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
