"""Administrators' imports, run on the server against the registry database, through the
registry's own use cases (`importer`, `reference`):

    ehr import residents FILE      an existing register (events are published by the registry's
                                   outbox relay once it runs); exit status 1 if any row was rejected
    ehr import reference --divisions FILE --institutions FILE
                                   administrative divisions and institutions (all or nothing)
    ehr import settlements FILE --insurer CODE
                                   the insurer's settlements, published to ehr.insurance and filed by
                                   records (`ehr.settlements`); exit status 1 naming the rows refused
"""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path

import click


@click.group(name="import")
def import_() -> None:
    """Bulk imports: a register of residents, divisions and institutions, insurance settlements."""


@import_.command("residents")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--chunk", default=2000, show_default=True, type=click.IntRange(min=1), help="rows per transaction")
@click.option("--jobs", default=os.cpu_count() or 1, show_default="the number of cores", type=click.IntRange(min=0),
              help="worker processes validating and preparing rows while this one writes (0: this one does it all)")
def import_residents(path: Path, chunk: int, jobs: int) -> None:
    """Create an archive for every valid row of a CSV register (columns: name, sex, birth_date,
    id_type, id_number, phone, village_code, institution_code; optional: the identity's codes,
    the cover's current_address, registered_address, employer, contact_name, contact_phone and
    responsible_doctor, and a newborn's guardian_archive_no or guardian_id_number; the README's
    paragraph on this command lists them). Rejected rows are listed with their line and reasons
    (ID numbers masked) in PATH.rejected.json; no row leaves a partial archive behind. A
    responsible_doctor column is checked against the gateway's users. Exit status 1 when any
    row was rejected (the valid ones are imported)."""
    from sqlalchemy.orm import Session

    from ehr.databases import service_engine
    from ehr.setup import ensure_keys
    from ehr.state import STATE_DIR
    from services.registry.importer import WriteFailed, read_csv
    from services.registry.importer import import_residents as run_import
    from shared.actor import Actor
    from shared.config import load_settings
    from shared.pii import service_box

    ensure_keys(STATE_DIR, ("registry",))
    settings = load_settings()
    total = max(0, sum(1 for _ in path.open(encoding="utf-8-sig")) - 1)
    doctors = _responsible_doctors() if "responsible_doctor" in _header(path) else frozenset()
    actor = Actor(user=f"import:{getpass.getuser()}", role="archive_manager")
    with service_engine("registry", settings, pool_size=5, max_overflow=5) as engine:
        try:
            with Session(engine) as session, click.progressbar(length=total, label="importing",
                                                              show_pos=True) as bar:
                report = run_import(session, service_box(settings, "registry"),
                                    read_csv(path), actor, chunk_size=chunk, progress=bar.update, jobs=jobs,
                                    doctors=doctors)
        except (ValueError, WriteFailed) as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"read {report.read} rows: {report.created} archives created, {len(report.rejected)} rejected")
    if report.rejected:
        out = path.with_name(path.name + ".rejected.json")
        out.write_text(json.dumps(report.rejected, ensure_ascii=False, indent=1))
        for item in report.rejected[:10]:
            click.echo(f"  line {item['line']}: {json.dumps(item['errors'], ensure_ascii=False)}")
        click.echo(f"every rejected row, with its reasons: {out}")
        raise click.ClickException(f"{len(report.rejected)} of {report.read} rows rejected")


def _header(path: Path) -> list[str]:
    import csv

    with path.open(newline="", encoding="utf-8-sig") as f:
        return next(csv.reader(f), [])


def _responsible_doctors() -> frozenset[tuple[str, str]]:
    """Who may be 责任医生 where, from the gateway's users through its own use case."""
    from ehr.databases import service_session
    from services.gateway import accounts

    with service_session("gateway") as session:
        return accounts.responsible_doctors(session)


@import_.command("reference")
@click.option("--divisions", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV: code,name,level,parent_code (county 6 digits, township 9, village 12)")
@click.option("--institutions", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV: code,name,kind,division_code,parent_code")
def import_reference(divisions: Path | None, institutions: Path | None) -> None:
    """Add or update administrative divisions and institutions. Both files are checked whole
    first; if any row is wrong nothing is imported and every problem is listed by file and
    line. Nothing is ever deleted (archives point at divisions and institutions)."""
    from ehr.databases import service_session
    from services.registry.reference import DIVISION_COLUMNS, INSTITUTION_COLUMNS, import_reference, read_rows

    if divisions is None and institutions is None:
        raise click.UsageError("give --divisions FILE, --institutions FILE or both")
    try:
        division_rows = read_rows(divisions, DIVISION_COLUMNS) if divisions else []
        institution_rows = read_rows(institutions, INSTITUTION_COLUMNS) if institutions else []
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        with service_session("registry") as session:
            counts = import_reference(session, division_rows, institution_rows)
    except ValueError as exc:
        message, problems = exc.args
        for problem in problems[:50]:
            click.echo(f"  {problem['file']} line {problem['line']}: "
                       f"{json.dumps(problem['errors'], ensure_ascii=False)}", err=True)
        raise click.ClickException(message) from None
    click.echo(f"{counts[0]} divisions and {counts[1]} institutions added or updated")


@import_.command("settlements")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--insurer", help="the insurer's institution code (required for CSV; JSON lines name it in each body)")
def import_settlements(path: Path, insurer: str | None) -> None:
    """Publish the insurer's settlements (医保结算) of a file to ehr.insurance, one message each,
    for the records service to file: JSON lines of ehr.settlement/1 bodies (.jsonl), or CSV with
    the columns settlement_no, revision, id_type, id_number, insurance_card_no, name, sex,
    birth_date, type, institution_code, visit_date, discharge_date, insurance_type, diagnoses,
    total, fund_paid, personal_account, out_of_pocket, other_paid, fees, settled_at (the README's
    Insurance section). Each message id is derived from the insurer, settlement number and
    revision: importing the same file again files nothing twice. Rows the contract refuses are
    not published and are listed with their line and field errors; exit status 1 then (the
    others are published)."""
    from ehr.exit_codes import Unavailable
    from ehr.settlements import check, publish, read_settlements
    from shared.config import load_settings

    try:
        rows = read_settlements(path, insurer)
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.ClickException(str(exc)) from None
    good, refused = check(rows)
    try:
        sent = publish(load_settings().amqp_uri, good) if good else 0
    except OSError as exc:
        raise Unavailable(f"cannot publish to the broker ({type(exc).__name__}); check EHR_AMQP_URI") from None
    click.echo(f"read {len(rows)} rows: {sent} settlements published to ehr.insurance, {len(refused)} refused")
    for item in refused[:20]:
        click.echo(f"  line {item['line']}: {item['reason']} {json.dumps(item['errors'], ensure_ascii=False)}", err=True)
    if refused:
        lines = ", ".join(str(item["line"]) for item in refused[:20]) + (" ..." if len(refused) > 20 else "")
        raise click.ClickException(f"{len(refused)} of {len(rows)} rows refused by ehr.settlement/1 (lines {lines})")
