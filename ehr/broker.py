"""Broker accounts of the suite's partners: every hospital and township system its own RabbitMQ
account, with only its own rights. Provisioned here and nowhere else, through RabbitMQ's
management HTTP API (`EHR_BROKER_ADMIN_URL`, an administrator's credentials), in the suite's
vhost (the one `EHR_AMQP_URI` names):

    ehr broker grant H3301020001    # create or update the account; prints a fresh password once
    ehr broker revoke H3301020001   # delete it: new connections are refused, open ones closed
    ehr broker list                 # the partner accounts of this vhost and what they may do

An account is named `<EHR_BROKER_ACCOUNT_PREFIX><institution code>` (`inst-H3301020001`) and
tagged `ehr-partner`; what it may do follows from the institution's kind and division
(`rights_for`), as RabbitMQ permissions (regexes over exchange and queue names) and topic
permissions (regexes over routing keys):

- a hospital may publish to `ehr.encounters` only with routing keys `encounter.<code>.…` and to
  `ehr.referral-answers` only with `answer.<code>.…` (its answers to referrals and
  consultations), and read only its referral queue `referrals.<code>` (declared by the suite,
  bound to `ehr.referrals` under `referral.<code>.#`);
- an insurer (the 医保 agency, institution kind `insurer`) may publish to `ehr.insurance` only,
  with routing keys `settlement.…` (the institution visited is in the key: the records service
  checks that `user_id` is the account of the body's `source.insurer_code`), and read nothing;
- any other institution (township and community centres and stations, village clinics, the
  health commission) may declare, bind and consume only the queues `township.<code>` and
  `township.<code>.<suffix>`, bound to `ehr.archive-updates` with keys under its own division
  (`archive.110105.101.` for township 110105101).

No partner may declare or delete an exchange, publish to the default exchange, or reach
`ehr.events`, `ehr.dead-letter` or nameko's RPC exchange and queues: only the internal account
can. The tag gives no access to the management UI or API.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote, urlparse

import click

from ehr.output import echo_json, json_option

if TYPE_CHECKING:
    from shared.messaging import BrokerAccounts

# shared.messaging (and with it kombu) is imported where it is used, not here: the `ehr` command
# loads this module for every subcommand, `ehr run` included, and kombu bound at import time
# (before `ehr run` monkey-patches eventlet) keeps the blocking time.sleep, which stalled a
# service's reconnection after a broker restart (tests/unit/test_cli_imports.py).

PARTNER_TAG = "ehr-partner"
HOSPITAL = "hospital"
INSURER = "insurer"
NOTHING = "^$"


class BrokerAdminError(RuntimeError):
    """The management API refused or could not be reached; the message names the call, never a password."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Rights:
    """RabbitMQ permissions of one account in one vhost, and its topic permissions per exchange
    (exchange -> (write, read) routing-key regexes)."""

    configure: str
    write: str
    read: str
    topics: dict[str, tuple[str, str]] = field(default_factory=dict)
    summary: str = ""


def referral_queue(institution_code: str) -> str:
    """The queue a hospital reads the referrals addressed to it from (declared by the suite);
    `shared.messaging.referral_queue`, named here for the rights."""
    from shared.messaging import referral_queue as queue_name

    return queue_name(institution_code)


def rights_for(code: str, kind: str, division_code: str) -> Rights:
    """What the account of an institution may do, from its kind and division.

        rights_for("H3301020001", "hospital", "110105").topics
        # {'ehr.encounters': ('^encounter\\\\.H3301020001\\\\.', '^$')}
    """
    from shared.messaging import (
        ARCHIVE_UPDATES, ENCOUNTERS, INSURANCE, REFERRAL_ANSWERS, RESERVED_REFERRAL_CODES, jurisdiction_binding,
        township_queue,
    )

    if not re.fullmatch(r"[A-Za-z0-9]{4,22}", code):
        raise ValueError("an institution code is 4 to 22 letters or digits")
    if kind == HOSPITAL:
        if code.lower() in RESERVED_REFERRAL_CODES:
            raise ValueError(f"the institution code {code!r} would name one of the suite's own queues")
        return Rights(
            configure=NOTHING,
            write=f"^({re.escape(ENCOUNTERS)}|{re.escape(REFERRAL_ANSWERS)})$",
            read=f"^{re.escape(referral_queue(code))}$",
            topics={ENCOUNTERS: (f"^encounter\\.{code}\\.", NOTHING),
                    REFERRAL_ANSWERS: (f"^answer\\.{code}\\.", NOTHING)},
            summary=(f"publish to {ENCOUNTERS} with routing keys encounter.{code}.<kind> and to "
                     f"{REFERRAL_ANSWERS} with answer.{code}.<kind> (and user_id set to the account); "
                     f"read queue {referral_queue(code)}"),
        )
    if kind == INSURER:
        return Rights(
            configure=NOTHING,
            write=f"^{re.escape(INSURANCE)}$",
            read=NOTHING,
            topics={INSURANCE: ("^settlement\\.", NOTHING)},
            summary=(f"publish to {INSURANCE} with routing keys settlement.<institution visited>.<type> "
                     f"(and user_id set to the account); read nothing"),
        )
    binding = jurisdiction_binding(division_code)  # archive.110105.101.#
    queues = re.escape(township_queue(code)) + r"(\..+)?"
    return Rights(
        configure=f"^{queues}$",
        write=f"^{queues}$",
        read=f"^({re.escape(ARCHIVE_UPDATES)}|{queues})$",
        topics={ARCHIVE_UPDATES: (NOTHING, "^" + re.escape(binding[:-1]))},
        summary=(f"declare, bind and consume queues {township_queue(code)} and {township_queue(code)}.<suffix>, "
                 f"bound to {ARCHIVE_UPDATES} with keys under {binding[:-1]} (e.g. {binding})"),
    )


class Management:
    """A small client of RabbitMQ's management HTTP API for one vhost.

        api = Management("http://admin:secret@127.0.0.1:15672", vhost="/")
        api.call("GET", "/api/users")
    """

    def __init__(self, admin_url: str, vhost: str, timeout: float = 15.0) -> None:
        url = urlparse(admin_url)
        self.base = f"{url.scheme}://{url.hostname}:{url.port or 15672}{url.path.rstrip('/')}"
        credentials = f"{url.username or ''}:{url.password or ''}".encode()
        self.authorization = "Basic " + base64.b64encode(credentials).decode()
        self.vhost = vhost
        self.timeout = timeout

    def path(self, *parts: str) -> str:
        return "/api/" + "/".join(quote(p, safe="") for p in parts)

    def call(self, method: str, path: str, body: dict | None = None, missing_ok: bool = False):
        """The decoded answer ({} when it has no body); None for a 404 when `missing_ok`."""
        request = urllib.request.Request(
            self.base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": self.authorization, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and missing_ok:
                return None
            raise BrokerAdminError(f"the broker's management API answered {exc.code} to {method} {path}",
                                   exc.code) from None
        except OSError as exc:
            raise BrokerAdminError(f"cannot reach the broker's management API at {self.base} "
                                   f"({type(exc).__name__}); is rabbitmq_management enabled?") from None
        return json.loads(raw) if raw else {}


def management(settings) -> tuple[Management, BrokerAccounts]:
    """The management client for the suite's vhost and the naming of its accounts."""
    from shared.messaging import BrokerAccounts, vhost_of

    return (Management(settings.broker_admin_url, vhost_of(settings.amqp_uri)),
            BrokerAccounts.from_settings(settings))


def grant(api: Management, accounts: BrokerAccounts, code: str, kind: str, division_code: str) -> tuple[str, str]:
    """Create or update the account of an institution with a fresh password and exactly the
    rights of its kind and division; returns (account, password). The routing-key limits are
    set before the account gets any right in the vhost, so it is never unrestricted."""
    rights = rights_for(code, kind, division_code)
    name, password = accounts.partner(code), secrets.token_urlsafe(24)
    existing = api.call("GET", api.path("users", name), missing_ok=True)
    if name == accounts.internal or (existing is not None and PARTNER_TAG not in _tags(existing)):
        raise BrokerAdminError(f"{name} is an account of the broker's own, not a partner account: not changed")
    api.call("PUT", api.path("users", name), {"password": password, "tags": PARTNER_TAG})
    for exchange, (write, read) in rights.topics.items():
        api.call("PUT", api.path("topic-permissions", api.vhost, name),
                 {"exchange": exchange, "write": write, "read": read})
    for stale in api.call("GET", api.path("users", name, "topic-permissions")) or []:
        if stale["vhost"] == api.vhost and stale["exchange"] not in rights.topics:
            api.call("PUT", api.path("topic-permissions", api.vhost, name),
                     {"exchange": stale["exchange"], "write": NOTHING, "read": NOTHING})
    api.call("PUT", api.path("permissions", api.vhost, name),
             {"configure": rights.configure, "write": rights.write, "read": rights.read})
    return name, password


def revoke(api: Management, name: str) -> bool:
    """Delete a partner account; False if there was none. RabbitMQ closes the account's open
    connections itself (`CONNECTION_FORCED - user ... is deleted`) and refuses new ones."""
    return api.call("DELETE", api.path("users", name), missing_ok=True) is not None


def list_accounts(api: Management, accounts: BrokerAccounts) -> list[dict]:
    """The partner accounts with rights in this vhost: name, institution code, permissions and
    topic permissions."""
    partners = {u["name"] for u in api.call("GET", api.path("users")) or []
                if PARTNER_TAG in _tags(u) and u["name"].startswith(accounts.partner_prefix)}
    topics: dict[str, dict] = {}
    for t in api.call("GET", api.path("vhosts", api.vhost, "topic-permissions")) or []:
        topics.setdefault(t["user"], {})[t["exchange"]] = {"write": t["write"], "read": t["read"]}
    return [{"account": p["user"], "institution_code": p["user"][len(accounts.partner_prefix):],
             "configure": p["configure"], "write": p["write"], "read": p["read"],
             "topics": topics.get(p["user"], {})}
            for p in sorted(api.call("GET", api.path("vhosts", api.vhost, "permissions")) or [],
                            key=lambda p: p["user"])
            if p["user"] in partners]


def _tags(user: dict) -> list[str]:
    tags = user.get("tags") or []
    return tags.split(",") if isinstance(tags, str) else list(tags)


def remove_partner_accounts(api: Management, accounts: BrokerAccounts) -> int:
    """Delete every partner account named with this prefix (a test run's own, on destroy)."""
    names = [u["name"] for u in api.call("GET", api.path("users")) or []
             if PARTNER_TAG in _tags(u) and u["name"].startswith(accounts.partner_prefix)]
    for name in names:
        revoke(api, name)
    return len(names)


def partner_uri(amqp_uri: str, account: str, password: str) -> str:
    """The suite's broker address and vhost, with a partner account's credentials instead."""
    url = urlparse(amqp_uri)
    netloc = f"{quote(account, safe='')}:{quote(password, safe='')}@{url.hostname}:{url.port or 5672}"
    return url._replace(netloc=netloc).geturl()


# -- `ehr broker ...` ----------------------------------------------------------------------


@click.group()
def broker() -> None:
    """Broker accounts of hospitals and township systems (RabbitMQ, via its management API)."""


def refusal(exc: BrokerAdminError) -> click.ClickException:
    """A management API that could not be reached: exit status 69; one that refused: 1."""
    from ehr.exit_codes import Unavailable

    return click.ClickException(str(exc)) if exc.status is not None else Unavailable(
        f"{exc} (check EHR_BROKER_ADMIN_URL)")


def _settings_and_api():
    from shared.config import load_settings

    settings = load_settings()
    return settings, *management(settings)


@broker.command("grant")
@click.argument("code")
def broker_grant(code: str) -> None:
    """Create or update the account of institution CODE with the rights of its kind and division,
    and print a fresh password once (the previous one stops working for new connections)."""
    from ehr import institutions

    institution = institutions.one(code, "CODE")
    settings, api, accounts = _settings_and_api()
    try:
        name, password = grant(api, accounts, code, institution["kind"], institution["division_code"])
    except BrokerAdminError as exc:
        raise refusal(exc) from None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    rights = rights_for(code, institution["kind"], institution["division_code"])
    click.echo(f"account   {name}  (vhost {api.vhost})")
    click.echo(f"password  {password}")
    click.echo(f"may       {rights.summary}")
    click.echo("The password is shown only now: give it to the institution's system over a safe channel. "
               f"`ehr broker grant {code}` again replaces it; `ehr broker revoke {code}` ends the account.",
               err=True)


@broker.command("revoke")
@click.argument("code")
def broker_revoke(code: str) -> None:
    """Delete the account of institution CODE: new connections are refused and open ones closed."""
    _, api, accounts = _settings_and_api()
    try:
        existed = revoke(api, accounts.partner(code))
    except BrokerAdminError as exc:
        raise refusal(exc) from None
    if not existed:
        raise click.ClickException(f"there is no broker account {accounts.partner(code)}")
    click.echo(f"revoked {accounts.partner(code)}")


@broker.command("list")
@json_option
def broker_list(as_json: bool) -> None:
    """The partner accounts with rights in the suite's vhost: permissions and topic permissions."""
    _, api, accounts = _settings_and_api()
    try:
        found = list_accounts(api, accounts)
    except BrokerAdminError as exc:
        raise refusal(exc) from None
    if as_json:
        echo_json(found)
        return
    for account in found:
        topics = "; ".join(f"{ex} write {t['write']} read {t['read']}" for ex, t in account["topics"].items())
        click.echo(f"{account['account']:<24} write {account['write']}  read {account['read']}  topics: {topics}")
    if not found:
        click.echo("no partner accounts", err=True)


def grant_demo_accounts(settings) -> dict[str, str]:
    """Fresh accounts for the demo county's hospitals, township and community centres and insurer
    (`ehr up --demo`, `ehr demo`): {institution code: AMQP URI with the account's credentials}."""
    from ehr import institutions
    from services.gateway.access import CENTRES

    api, accounts = management(settings)
    uris = {}
    for institution in institutions.registered(kinds=sorted({HOSPITAL, INSURER, *CENTRES})):
        name, password = grant(api, accounts, institution["code"], institution["kind"], institution["division_code"])
        uris[institution["code"]] = partner_uri(settings.amqp_uri, name, password)
    return uris
