"""The sync service's own settings (documented with the others in `shared.config`), read from the
environment; any of them may be given as a file (`EHR_PLATFORM_TOKEN_FILE`, `shared.config.resolve_files`).

    PlatformSettings.from_environment()
        -> PlatformSettings(url="http://127.0.0.1:8090", token="...", format="cda", timeout=10.0,
                            ca_file=None, max_attempts=8)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from shared.config import ConfigError, resolve_files

FORMATS = ("cda", "fhir")
VARIABLES = ("EHR_PLATFORM_URL", "EHR_PLATFORM_TOKEN", "EHR_PLATFORM_FORMAT", "EHR_PLATFORM_TIMEOUT",
             "EHR_PLATFORM_CA_FILE", "EHR_SYNC_MAX_ATTEMPTS")


@dataclass(frozen=True)
class PlatformSettings:
    url: str = "http://127.0.0.1:8090"
    token: str = field(default="", repr=False)
    format: str = "cda"
    timeout: float = 10.0
    ca_file: str | None = None
    max_attempts: int = 8

    @classmethod
    def from_environment(cls, environ=None) -> "PlatformSettings":
        env = resolve_files(os.environ if environ is None else environ)
        fmt = env.get("EHR_PLATFORM_FORMAT") or "cda"
        if fmt not in FORMATS:
            raise ConfigError(f"EHR_PLATFORM_FORMAT must be one of {', '.join(FORMATS)}")
        url = env.get("EHR_PLATFORM_URL") or cls.url
        if not url.startswith(("http://", "https://")):
            raise ConfigError("EHR_PLATFORM_URL must be an http:// or https:// URL")
        try:
            timeout = float(env.get("EHR_PLATFORM_TIMEOUT") or 10)
            max_attempts = int(env.get("EHR_SYNC_MAX_ATTEMPTS") or 8)
        except ValueError:
            raise ConfigError("EHR_PLATFORM_TIMEOUT, EHR_SYNC_MAX_ATTEMPTS must be numbers") from None
        if timeout <= 0 or max_attempts < 1:
            raise ConfigError("EHR_PLATFORM_TIMEOUT must be positive and EHR_SYNC_MAX_ATTEMPTS at least 1")
        return cls(url=url, token=env.get("EHR_PLATFORM_TOKEN") or "", format=fmt, timeout=timeout,
                   ca_file=env.get("EHR_PLATFORM_CA_FILE") or None, max_attempts=max_attempts)
