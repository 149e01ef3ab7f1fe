"""`ehr quarantine ...` and `ehr pending ...`: the operator's commands, over RPC to the suite."""

from __future__ import annotations

import getpass
import json
from contextlib import contextmanager
from dataclasses import dataclass

import click

from ehr.exit_codes import Unavailable
from ehr.output import echo_json, echo_table, json_option
from shared.actor import Actor

RPC_TIMEOUT = 30  # seconds


@contextmanager
def suite_rpc():
    """A signed RPC client of the suite, acting as `cli:<login name>` (system_operator). A broker
    that cannot be reached, a service that gives no answer in time or answers that it is
    unavailable: `Unavailable` (exit status 69). A refusal (not found, invalid): exit status 1."""
    from nameko.exceptions import RpcTimeout

    from ehr.setup import ensure_keys
    from ehr.state import STATE_DIR
    from shared.config import ConfigError
    from shared.errors import EhrError
    from shared.transport.rpc import BROKER_GONE, ServiceUnavailable, SignedClusterRpcClient

    actor = Actor(user=f"cli:{getpass.getuser()}", role="system_operator")
    ensure_keys(STATE_DIR)  # the calls are signed with EHR_SERVICE_KEY (var/secrets.env on a development machine)
    try:
        client = SignedClusterRpcClient(timeout=RPC_TIMEOUT, context_data=actor.as_context())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        with client as rpc:
            yield rpc
    except EhrError as exc:
        raise click.ClickException(f"{exc.message}: {json.dumps(exc.details, ensure_ascii=False)}") from None
    except RpcTimeout:
        raise Unavailable(f"the suite gave no answer within {RPC_TIMEOUT} s: are its services running "
                          "(`ehr up`) on the broker EHR_AMQP_URI names?") from None
    except ServiceUnavailable as exc:
        raise Unavailable(f"the suite could not answer: {exc}") from None
    except BROKER_GONE as exc:
        raise Unavailable(f"cannot reach the broker ({type(exc).__name__}: {exc}); check EHR_AMQP_URI and "
                          "that RabbitMQ is up") from None


@dataclass(frozen=True)
class QuarantineTexts:
    """What a service's quarantine commands say: of what (messages, answers), the help of each."""
    listing: str
    show: str
    replay: str
    body: str          # the --body option's help: which contract a corrected body follows
    reasons: str = "only this reason code"
    columns: tuple[str, ...] = ("id", "received_at", "reason", "status", "routing_key", "message_id")


def add_quarantine_commands(group: click.Group, service: str, texts: QuarantineTexts) -> click.Group:
    """`list`, `show`, `replay` and `discard` of `service`'s quarantine (its RPCs `list_quarantine`,
    `show_quarantined`, `replay_quarantined`, `discard_quarantined`: records' and referrals' keep
    the same shape, `shared.quarantine_store`), added to `group`."""

    def of(rpc):
        return getattr(rpc, service)

    @group.command("list", help=texts.listing)
    @click.option("--reason", default=None, help=texts.reasons)
    @click.option("--all", "every", is_flag=True, help="also replayed and discarded entries")
    @click.option("--limit", default=50, show_default=True, help="at most this many")
    @json_option
    def quarantine_list(reason, every, limit, as_json):
        with suite_rpc() as rpc:
            page = of(rpc).list_quarantine(status=None if every else "held", reason=reason, limit=limit)
        if as_json:
            echo_json(page["items"])
        else:
            echo_table(page["items"], list(texts.columns))

    @group.command("show", help=texts.show)
    @click.argument("quarantine_id", type=int)
    def quarantine_show(quarantine_id):
        with suite_rpc() as rpc:
            echo_json(of(rpc).show_quarantined(quarantine_id))

    @group.command("replay", help=texts.replay)
    @click.argument("quarantine_id", type=int)
    @click.option("--body", "body_file", type=click.File("rb"), default=None, help=texts.body)
    def quarantine_replay(quarantine_id, body_file):
        corrected = json.load(body_file) if body_file else None
        with suite_rpc() as rpc:
            echo_json(of(rpc).replay_quarantined(quarantine_id, corrected=corrected))

    @group.command("discard", help="Set a quarantined entry aside for good, with the reason (the entry is kept).")
    @click.argument("quarantine_id", type=int)
    @click.option("--note", required=True, help="why it is discarded (kept with the entry)")
    def quarantine_discard(quarantine_id, note):
        with suite_rpc() as rpc:
            echo_json(of(rpc).discard_quarantined(quarantine_id, note))

    return group


@click.group()
def quarantine() -> None:
    """Messages the suite could not file: list, inspect, replay, discard."""


add_quarantine_commands(quarantine, "records", QuarantineTexts(
    listing="The messages held in quarantine (with --all, also those replayed or discarded): id, when, why, "
            "and the message's routing key and id.",
    show="The reason, the field errors and the message with identifiers masked.",
    replay="Publish the message again for filing, as it was or corrected.",
    body="a corrected ehr.encounter/1 JSON body (default: the message as it was)"))


@click.group()
def pending() -> None:
    """Hospital encounters waiting for their resident's archive."""


@pending.command("list")
@click.option("--limit", default=50, show_default=True, help="at most this many")
@json_option
def pending_list(limit, as_json):
    """The encounters waiting for their resident's archive: id, age, the sending hospital, whether
    the message carried an ID number, and the archive proposed for it."""
    with suite_rpc() as rpc:
        page = rpc.records.list_pending(limit=limit)
    if as_json:
        echo_json(page["items"])
    else:
        echo_table(page["items"], ["id", "received_at", "age_seconds", "institution_code", "has_id_number",
                                   "message_id", "proposed_archive_no"])


@pending.command("propose")
@click.argument("pending_id", type=int)
@click.argument("archive_no")
def pending_propose(pending_id, archive_no):
    """Propose the archive a pending encounter belongs to; a clinician of that archive's area
    confirms it (POST /api/v1/pending/{id}/link) or not. Nothing is filed yet."""
    with suite_rpc() as rpc:
        echo_json(rpc.records.propose_link(pending_id, archive_no))


@pending.command("link")
@click.argument("pending_id", type=int)
@click.argument("archive_no")
@click.option("--confirmed-by", required=True, metavar="WHO",
              help="the clinician of the archive's area who confirmed that this is their resident (kept with the link)")
def pending_link(pending_id, archive_no, confirmed_by):
    """File a pending encounter into an archive a clinician identified, naming them: linking also
    teaches the registry the hospital's MRN, so an operator alone does not decide it."""
    with suite_rpc() as rpc:
        echo_json(rpc.records.link_pending(pending_id, archive_no, confirmed_by=confirmed_by))
