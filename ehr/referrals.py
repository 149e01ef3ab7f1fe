"""`ehr referrals ...`: the operator's view of the referrals service, over RPC to the suite (as
`ehr quarantine` is of records'): the hospitals' answers it quarantined, and the records it still
owes the archive.

    ehr referrals quarantine list [--reason not_the_receiver] [--all] [--json]
    ehr referrals quarantine show 3            the reason, field errors, the body with free text as shapes
    ehr referrals quarantine replay 3 [--body corrected.json]
    ehr referrals quarantine discard 3 --note "医院测试消息"
    ehr referrals filings [--all] [--json]     what is owed: attempts, last error, next try
    ehr referrals filings --retry [--id 4]     file it now, whatever the pause
"""

from __future__ import annotations


import click

from ehr.operate import QuarantineTexts, add_quarantine_commands, suite_rpc
from ehr.output import echo_json, echo_table, json_option


@click.group()
def referrals() -> None:
    """The referrals service's quarantine of hospitals' answers and the records it owes the archive."""


@referrals.group("quarantine")
def referral_quarantine() -> None:
    """Hospitals' answers to referrals and consultations that were not applied: list, inspect, replay, discard."""


add_quarantine_commands(referral_quarantine, "referrals", QuarantineTexts(
    listing="The answers held in quarantine (with --all, also those replayed or discarded): id, when, why, "
            "the routing key, the message id and the broker account that published it.",
    show="The reason, the field errors and the body: codes and ids as they are, free text only as its shape.",
    replay="Publish a hospital's answer again, as it was or corrected: it is applied, or quarantined afresh.",
    body="a corrected ehr.referral-answer/1 JSON body (default: the answer as it was)",
    reasons="only this reason code (not_the_receiver, invalid_transition, ...)",
    columns=("id", "received_at", "reason", "status", "routing_key", "message_id", "user_id")))


@referrals.command("filings")
@click.option("--all", "every", is_flag=True, help="also the filings already filed")
@click.option("--retry", is_flag=True, help="file what is owed now, whatever its pause, then list")
@click.option("--id", "filing_id", type=int, default=None, help="with --retry: only this filing")
@click.option("--limit", default=50, show_default=True, help="at most this many")
@json_option
def filings(every, retry, filing_id, limit, as_json):
    """The 转出单, 回转单 and 会诊记录表 not yet filed into the archive: what, whose, attempts, the last
    error and the next try; with --retry, file them now."""
    if filing_id is not None and not retry:
        raise click.UsageError("--id goes with --retry")
    with suite_rpc() as rpc:
        if retry:
            outcome = rpc.referrals.retry_filings(filing_id=filing_id)
            click.echo(f"filed {outcome['filed']}, still owed {outcome['pending']}", err=True)
        page = rpc.referrals.list_filings(status=None if every else "pending", limit=limit)
    if as_json:
        echo_json(page["items"])
    else:
        echo_table(page["items"], ["id", "subject", "record_type", "archive_no", "status", "attempts",
                                   "last_error", "next_attempt_at"])
