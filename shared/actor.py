"""Who acted: carried in Nameko's context data from the gateway through every RPC call.

The gateway sets `ehr.user`, `ehr.institution`, `ehr.role` and `ehr.request_id` on its
worker's context data; Nameko copies context data into the headers of every RPC call the
worker makes, so a service method reads it back with the `CurrentActor` provider:

    class RegistryService:
        actor = CurrentActor()

        @rpc
        def create_archive(self, payload):
            usecases.create_archive(..., actor=self.actor)   # Actor(user="doc01", ...)

The headers alone prove nothing (anyone on the broker can set them): `shared.transport.rpc` signs them
with the call under the service key and refuses a call whose signature does not hold before
any worker runs (`shared.signing`), so what `CurrentActor` reads, the acting user or `system`
when there is none, was sent by one of the suite's own processes.
"""

from __future__ import annotations

from dataclasses import dataclass


USER_KEY = "ehr.user"
INSTITUTION_KEY = "ehr.institution"
ROLE_KEY = "ehr.role"
REQUEST_ID_KEY = "ehr.request_id"


@dataclass(frozen=True)
class Actor:
    user: str = "system"
    institution_code: str | None = None
    role: str | None = None
    request_id: str | None = None

    def as_context(self) -> dict[str, str]:
        data = {USER_KEY: self.user, INSTITUTION_KEY: self.institution_code,
                ROLE_KEY: self.role, REQUEST_ID_KEY: self.request_id}
        return {k: v for k, v in data.items() if v is not None}

    def as_dict(self) -> dict[str, str | None]:
        return {"user": self.user, "institution_code": self.institution_code, "role": self.role}


SYSTEM = Actor()
