"""The registry's institutions as the commands on the server need them (the kind a role must fit,
the division a broker account is limited to): through the registry's own use case
(`usecases.list_institutions`) on its own database. `ehr user add` creates the first administrator
and `ehr broker grant` a hospital's account before any service may be up, so not over RPC.

    registered(codes=["T1101051011"]) -> [{"code": "T1101051011", "kind": "township_center",
                                           "division_code": "110105101"}]
"""

from __future__ import annotations

import click

from ehr.databases import service_session


def registered(codes: list[str] | None = None, kinds: list[str] | None = None) -> list[dict]:
    """Registered institutions (`{"code", "kind", "division_code"}`) by code: all, or those with
    the given codes or kinds."""
    from services.registry import usecases

    with service_session("registry") as session:
        found = usecases.list_institutions(session)
    return [{"code": i.code, "kind": i.kind, "division_code": i.division_code} for i in found
            if (codes is None or i.code in codes) and (kinds is None or i.kind in kinds)]


def one(code: str, param_hint: str) -> dict:
    """The registered institution CODE; unknown codes are refused (a usage error)."""
    found = registered(codes=[code])
    if not found:
        raise click.BadParameter(f"no institution {code!r} in the registry", param_hint=param_hint)
    return found[0]
