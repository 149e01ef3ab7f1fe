"""The suite's services, one package each. A new service is a folder with its own
`descriptor.py` (`shared.service.ServiceDescriptor`) and one line here: `ehr up`, `ehr run`,
`ehr migrate`, `ehr health`, docker-compose's and systemd's checks and the tests take the
services from this list, in this order (the order `ehr up` starts them in)."""

from __future__ import annotations

from services.gateway.descriptor import GATEWAY
from services.programmes.descriptor import PROGRAMMES
from services.records.descriptor import RECORDS
from services.referrals.descriptor import REFERRALS
from services.registry.descriptor import REGISTRY
from services.sync.descriptor import SYNC
from shared.service import ServiceDescriptor

SERVICES: tuple[ServiceDescriptor, ...] = (REGISTRY, RECORDS, GATEWAY, PROGRAMMES, REFERRALS, SYNC)


def service(name: str) -> ServiceDescriptor:
    """The descriptor of the service called `name`; KeyError naming the known ones."""
    for descriptor in SERVICES:
        if descriptor.name == name:
            return descriptor
    raise KeyError(f"no service {name!r}; the suite runs {', '.join(names())}")


def names() -> list[str]:
    return [descriptor.name for descriptor in SERVICES]
