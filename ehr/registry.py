"""`ehr registry ...`: one-off maintenance of the registry's database, run on the server through
the registry's own use cases (`services.registry.rekey`):

    ehr registry rekey-id-numbers [--dry-run] [--batch-size 500] [--json]
        archives stored under ID type 02 (居民户口簿) before types 01 and 02 were one identity:
        their ID-number index recomputed so that the number finds them; exit status 1 naming
        the archives whose number another archive holds (merge them, run again)
"""

from __future__ import annotations

import click

from ehr.exit_codes import FAILED
from ehr.output import echo_json


@click.group()
def registry() -> None:
    """One-off maintenance of the registry's database (run on the server)."""


@registry.command("rekey-id-numbers")
@click.option("--dry-run", is_flag=True, help="only count what would change; change nothing")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(min=1),
              help="archives per transaction")
@click.option("--json", "as_json", is_flag=True, help="print the counts and collisions as one JSON object")
def rekey_id_numbers(dry_run: bool, batch_size: int, as_json: bool) -> None:
    """Recompute the ID-number index of archives of ID type 02 (居民户口簿) stored before a
    公民身份号码 under type 01 or 02 became one identity: until then their index was computed
    apart (namespace id:02) and the number does not find them. Also re-keys merged archives a
    standing merge keeps aside. Runs beside the services in short transactions; safe to run
    again (an index already right is left alone). Where another archive already holds the
    number (the person was registered twice) nothing is changed for that archive and both
    archive numbers are named: merge them, then run it again (exit status 1)."""
    from ehr.databases import service_engine
    from ehr.setup import ensure_keys
    from ehr.state import STATE_DIR
    from services.registry.rekey import rekey_id_numbers as rekey
    from shared.config import ConfigError, load_settings
    from shared.pii import service_box

    ensure_keys(STATE_DIR, ("registry",))
    try:
        settings = load_settings()
        box = service_box(settings, "registry")
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    with service_engine("registry", settings) as engine:
        report = rekey(engine, box, batch_size=batch_size, dry_run=dry_run)
    collisions = [{"archive_no": mine, "held_by": holder} for mine, holder in report.collisions]
    if as_json:
        echo_json({"checked": report.checked, "rekeyed": report.rekeyed, "unchanged": report.unchanged,
                   "busy": report.busy, "collisions": collisions, "dry_run": dry_run})
    else:
        verb = "would be re-keyed" if dry_run else "re-keyed"
        click.echo(f"{report.checked} ID numbers of type 02 checked: {report.rekeyed} {verb}, "
                   f"{report.unchanged} already right, {len(collisions)} held by another archive, "
                   f"{report.busy} busy")
        for item in collisions:
            click.echo(f"  archive {item['archive_no']}: its ID number is held by archive {item['held_by']}",
                       err=True)
        if report.busy:
            click.echo("some archives were busy: run the command again")
    if collisions and as_json:
        raise click.exceptions.Exit(FAILED)  # the JSON said it all
    if collisions:
        raise click.ClickException(f"{len(collisions)} archives left as they were: another archive holds "
                                   "their ID number (merge each pair, then run again)")
