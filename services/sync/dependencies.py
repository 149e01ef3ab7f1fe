"""The sync service's own dependency provider: the regional platform (`platform.HttpPlatformClient`
with the settings of `settings.PlatformSettings`), opened in `setup()`.

    class SyncService:
        platform = Platform()     # -> PlatformHandle(client=HttpPlatformClient, settings=PlatformSettings)
"""

from __future__ import annotations

from dataclasses import dataclass

from nameko.extensions import DependencyProvider

from services.sync.platform import HttpPlatformClient, PlatformClient
from services.sync.settings import PlatformSettings


@dataclass(frozen=True)
class PlatformHandle:
    client: PlatformClient
    settings: PlatformSettings


class Platform(DependencyProvider):
    def setup(self) -> None:
        settings = PlatformSettings.from_environment()
        self.handle = PlatformHandle(HttpPlatformClient(settings), settings)

    def stop(self) -> None:
        close = getattr(self.handle.client, "close", None)
        if close is not None:
            close()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx) -> PlatformHandle:
        return self.handle
