"""The fake platform as one more process of `ehr up --demo`: on 127.0.0.1:8090, its token in the
state directory (`platform-token`, mode 0600, made once), its data in `<state dir>/platform`, and
EHR_PLATFORM_URL / EHR_PLATFORM_TOKEN exported to every process `ehr up` starts, so the sync
service sends to it. When EHR_PLATFORM_URL is set already, a platform is configured: no fake."""

from __future__ import annotations

import os
import secrets
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

DEMO_HOST = "127.0.0.1"
DEMO_PORT = 8090
TOKEN_FILE = "platform-token"


@dataclass(frozen=True)
class DemoPlatform:
    url: str
    token_file: Path
    data_dir: Path
    args: list[str]
    environment: dict[str, str] = field(repr=False)   # what the suite's processes are given
    probe: Callable[[], str | None] = field(repr=False)


def token_in(state_dir: Path) -> tuple[str, Path]:
    """The demo platform's token, made (mode 0600) the first time."""
    path = Path(state_dir) / TOKEN_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip(), path


def health_probe(url: str, token: str, timeout: float = 1.0) -> Callable[[], str | None]:
    """None when GET /api/health answers 200, else why not."""
    def probe() -> str | None:
        request = urllib.request.Request(f"{url}/api/health", headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return None if answer.status == 200 else f"health answered {answer.status}"
        except urllib.error.HTTPError as exc:
            return f"health answered {exc.code}"
        except (OSError, ValueError) as exc:
            return f"not answering ({getattr(exc, 'reason', exc)})"
    return probe


def demo_platform(state_dir: Path, environ) -> DemoPlatform | None:
    """The fake for `ehr up --demo`, or None when EHR_PLATFORM_URL names a platform already."""
    if environ.get("EHR_PLATFORM_URL"):
        return None
    token, token_file = token_in(state_dir)
    url = f"http://{DEMO_HOST}:{DEMO_PORT}"
    data_dir = Path(state_dir) / "platform"
    args = [sys.executable, "-m", "ehr", "platform", "--host", DEMO_HOST, "--port", str(DEMO_PORT),
            "--data", str(data_dir)]
    return DemoPlatform(url=url, token_file=token_file, data_dir=data_dir, args=args,
                        environment={"EHR_PLATFORM_URL": url, "EHR_PLATFORM_TOKEN": token},
                        probe=health_probe(url, token))
