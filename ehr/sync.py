"""`ehr sync ...`: the operator's view of what is sent to the regional platform, over the sync
service's RPC (`shared.contracts.sync`).

    ehr sync status                      counts by state and document type, the oldest not settled
    ehr sync list --state rejected       documents in a state, with the platform's reasons (and the
                                         withdrawals of records entered in error: action withdraw)
    ehr sync resend record:8f3e...:v2    queue one again (held, rejected, failed or deferred)
    ehr sync backfill --since 2026-01-01 documents for everything the suite held since that day
    ehr sync reconcile                   the suite against the platform, per institution and type
"""

from __future__ import annotations

import click

from ehr.operate import suite_rpc
from ehr.output import echo_json, echo_table, json_option
from shared.contracts.sync import STATES


@click.group()
def sync() -> None:
    """Documents sent to the regional platform (区域平台上传): status, list, resend, backfill, reconcile."""


@sync.command("status")
@json_option
def sync_status(as_json):
    """Counts by state and document type, the oldest document not settled yet, the records no
    document exists for yet, and the last backfills."""
    with suite_rpc() as rpc:
        status = rpc.sync.status()
    if as_json:
        echo_json(status)
        return
    echo_table(status["by_state"], ["state", "type_code", "documents"])
    oldest = status["oldest_unacknowledged"]
    click.echo("oldest unacknowledged: " + (f"{oldest['document_id']} ({oldest['state']}, queued "
                                            f"{oldest['queued_at']})" if oldest else "none"))
    for entry in status["not_buildable"]:
        click.echo(f"no document yet: {entry['record_type']} ({entry['records']} records)")
    for run in status["backfills"]:
        click.echo(f"backfill {run['id']} since {run['since']}: {run['state']}, {run['counts']}")


@sync.command("list")
@click.option("--state", type=click.Choice(STATES), default=None, help="only documents in this state")
@click.option("--type", "type_code", default=None, help="only this document type (HSDC00.01 ...)")
@click.option("--archive", "archive_no", default=None, help="only this archive's documents")
@click.option("--limit", default=50, show_default=True, help="at most this many")
@json_option
def sync_list(state, type_code, archive_no, limit, as_json):
    """Documents of the send queue, newest first, with the platform's reasons for a rejection."""
    with suite_rpc() as rpc:
        page = rpc.sync.list_documents(state=state, type_code=type_code, archive_no=archive_no, limit=limit)
    if as_json:
        echo_json(page["items"])
        return
    rows = [{**item, "reasons": "; ".join(f"{r.get('code')}: {r.get('message')}" for r in item["reasons"])}
            for item in page["items"]]
    echo_table(rows, ["id", "document_id", "type_code", "action", "state", "attempts", "platform_id", "last_error",
                      "reasons"])


@sync.command("resend")
@click.argument("document")
def sync_resend(document):
    """Queue DOCUMENT (its id, or its document id `record:...:v2`) again, due now."""
    with suite_rpc() as rpc:
        row = rpc.sync.resend_document(document)
    click.echo(f"{row['document_id']} queued again")


@sync.command("backfill")
@click.option("--since", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="YYYY-MM-DD")
def sync_backfill(since):
    """Queue documents for everything the suite holds since that day (archives created and records
    given since then); the sync service walks it in the background (`ehr sync status`)."""
    with suite_rpc() as rpc:
        run = rpc.sync.start_backfill(since.date().isoformat())
    click.echo(f"backfill {run['id']} since {run['since']} started")


@sync.command("reconcile")
@click.option("--institution", "custodian", default=None, help="only this custodian institution")
@click.option("--type", "type_code", default=None, help="only this document type")
@json_option
def sync_reconcile(custodian, type_code, as_json):
    """What the suite holds against what the platform lists (accepted or withdrawn), per
    institution and type; exit status 1 when they differ."""
    with suite_rpc() as rpc:
        report = rpc.sync.reconcile(custodian=custodian, type_code=type_code)
    if as_json:
        echo_json(report)
    else:
        echo_table(report["groups"], ["custodian", "type_code", "acknowledged", "withdrawn", "platform_accepted",
                                      "platform_withdrawn", "on_the_way", "missing_on_platform_count",
                                      "unknown_to_suite_count", "platform_id_differs_count",
                                      "withdrawal_differs_count"])
    if not report["consistent"]:
        raise SystemExit(1)
