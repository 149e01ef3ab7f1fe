"""The `ehr` command: run, operate and try the suite.

    ehr up [--replicas records=3] [--demo]   migrate, start every service, supervise
           [--log-format text|json]           (gateway=N: N gateways sharing one port; --demo: the
                                              demo county, demo keys revoked at Ctrl-C, a feed,
                                              the fake regional platform on 127.0.0.1:8090)
    ehr run SERVICE                           one service process (registry|records|gateway)
    ehr health SERVICE [--ready]              is its process live (heartbeat); --ready: its
                                              database, broker and migrations (exit 1 if not)
    ehr migrate [--demo-data]                 create and migrate the databases (and the demo county)
    ehr demo                                  publish a small synthetic hospital feed (its keys
                                              are revoked when it ends)
    ehr subscribe T1101051011 --jurisdiction 110105101   a township system's updates, with its account
    ehr broker grant|revoke|list              broker accounts of hospitals and township systems
    ehr bench [filing|gateway|...] [--quick]  the benchmarks: python -m bench
    ehr quarantine list|show|replay|discard   messages the suite could not file
    ehr pending list|propose|link             encounters waiting for their resident's archive
    ehr referrals quarantine list|show|replay|discard   hospitals' answers the referrals service set aside
    ehr referrals filings [--retry]           referral records not yet filed into the archive
    ehr sync status|list|resend|backfill|reconcile   documents sent to the regional platform
    ehr user add|role|password|unlock|revoke-tokens|list
                                              people who sign in to the gateway
    ehr apikey add|revoke|list                API keys of township and hospital systems
    ehr audit verify|head|archive|user        the audit trail: its chain and head, who looked, who did
    ehr keys [--output .env]                  print (or write, mode 0600) fresh keys, one per purpose
    ehr keys reencrypt [--dry-run]            after a key rotation, re-encrypt with the new key
    ehr import residents|reference            bulk imports into the registry
    ehr registry rekey-id-numbers [--dry-run] archives of ID type 02 found by their number again
    ehr platform [--port 8090] [--token T]    a fake regional platform the sync service sends to
    ehr --version, ehr COMMAND --help         every command says what it does

Every command that lists something takes `--json` (a JSON array). Exit statuses (ehr.exit_codes):
0 done, 1 a check failed or something was refused or rejected, 2 wrong usage, 69 could not connect.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
import threading

import click

import services as suite
from ehr import exit_codes, state

SERVICES = suite.names()


def _replicas(values: tuple[str, ...]) -> dict[str, int]:
    """Processes per service. Several gateways listen on the same address: eventlet opens the
    listening socket with SO_REUSEPORT, and the kernel spreads new connections over them."""
    result = {}
    for value in values:
        name, _, count = value.partition("=")
        if name not in SERVICES or not count.isdigit() or int(count) < 1:
            raise click.BadParameter(f"expected SERVICE=N with SERVICE in {sorted(SERVICES)}: {value!r}")
        result[name] = int(count)
    return result


def _version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("ehr-suite")
    except PackageNotFoundError:  # run from a checkout that was not installed: its pyproject.toml says
        import tomllib
        from pathlib import Path

        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        number = tomllib.loads(pyproject.read_text())["project"]["version"]
    click.echo(f"ehr {number}")
    ctx.exit()


@click.group(epilog=exit_codes.HELP)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version,
              help="print the suite's version and exit")
def main() -> None:
    """Electronic resident health record suite (居民健康档案管理): run, operate and try it.

    Every command that lists something takes --json and prints a JSON array.
    """


def _what_next(sup, base: str, hints: list[str]) -> str:
    """The block `ehr up` ends its start with, framed so that it stands out from the logs."""
    from ehr.access import has_users

    procs = ", ".join(f"{name}×{n}" for name, n in sup.replicas.items())
    lines = [f"ehr is up ({procs}): every process live, databases, broker and migrations ready",
             f"  API docs  {base}/api/v1/docs   (OpenAPI: {base}/api/v1/openapi.json)",
             f"  health    {base}/api/v1/health   ehr health records --ready",
             f"  work list {base}/api/v1/worklist   (urgent, overdue and due follow-ups; "
             f"to confirm: {base}/api/v1/programme-suggestions)"]
    if not has_users():
        lines.append("  nobody can sign in yet: create the first account with "
                     "`ehr user add NAME --institution CODE --role institution_admin`")
    lines += hints
    lines.append("Ctrl-C stops every service")
    rule = "=" * 78
    return "\n".join(["", rule, *lines, rule, ""])


@main.command()
@click.option("--replicas", multiple=True, metavar="SERVICE=N",
              help="processes of a service (records: competing workers; gateway: sharing its port)")
@click.option("--demo/--no-demo", default=False,
              help="load the demo county into a new registry, publish a synthetic hospital feed and run "
                   "the fake regional platform (ehr platform) on 127.0.0.1:8090")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None,
              help="the processes' logs: readable lines prefixed with the process (default on a "
                   "terminal) or JSON lines (default otherwise, or EHR_LOG_FORMAT)")
def up(replicas: tuple[str, ...], demo: bool, log_format: str | None) -> None:
    """Create databases if missing, migrate, run every service, wait until each is ready, and
    supervise them until Ctrl-C."""
    from ehr.setup import ensure_keys, migrate_all
    from ehr.supervisor import Supervisor, log_format_for
    from shared.config import load_settings
    from shared.transport.topology import declare_topology

    counts = _replicas(replicas)
    ensure_keys(state.STATE_DIR)
    settings = load_settings()
    log_format = log_format_for(log_format, os.environ, sys.stdout)
    created = migrate_all(settings, demo_data=demo)
    click.echo("databases: " + ", ".join(f"{s} {'created' if c else 'up to date'}" for s, c in created.items()))
    declare_topology(settings.amqp_uri)

    extras, platform_hints = {}, []
    if demo:  # the fake regional platform the sync service sends to (ehr/platform/launch.py)
        from ehr.platform.launch import demo_platform
        from ehr.supervisor import ExtraProcess

        fake = demo_platform(state.STATE_DIR, os.environ)
        if fake is None:
            click.echo("platform: EHR_PLATFORM_URL is set, so no fake platform is started")
        else:
            os.environ.update(fake.environment)  # EHR_PLATFORM_URL, EHR_PLATFORM_TOKEN for every process
            extras["platform"] = ExtraProcess(fake.args, fake.probe)
            platform_hints.append(f"  platform  {fake.url}/api/documents   (the fake regional platform, "
                                  f"ehr platform; token in {fake.token_file})")
    sup = Supervisor(counts, echo=click.echo, log_format=log_format, run_dir=settings.run_dir, extras=extras)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
        sup.stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    sup.start()
    base = f"http://{settings.gateway_host}:{settings.gateway_port}"
    waiting = sup.wait_ready(settings)
    if waiting:
        click.echo("the suite did not become ready within 60 s; stopping. Not ready: "
                   + "; ".join(f"{name}: {why}" for name, why in waiting.items()), err=True)
        sup.stop()
        sys.exit(1)
    keys = {}
    if demo:
        from ehr.access import create_demo_keys
        from ehr.broker import BrokerAdminError, grant_demo_accounts
        from ehr.demo import run_demo

        keys = create_demo_keys()
        try:
            brokers = grant_demo_accounts(settings)
        except BrokerAdminError as exc:
            click.echo(f"no demo feed: the demo hospitals' broker accounts could not be granted: {exc}", err=True)
            click.echo(_what_next(sup, base, platform_hints))
        else:
            def feed() -> None:
                result = run_demo(base, keys, brokers, echo=click.echo)
                click.echo(_what_next(sup, base, platform_hints + result["hints"]))

            threading.Thread(target=feed, daemon=True).start()
    else:
        click.echo(_what_next(sup, base, []))
    watcher = threading.Thread(target=sup.supervise, daemon=True)
    watcher.start()
    stop.wait()
    click.echo("stopping ...")
    if keys:
        from ehr.access import revoke_demo_keys

        revoke_demo_keys(keys)  # the demo keys live as long as the demo suite, no longer
    sup.stop()
    click.echo("stopped")


@main.command()
@click.argument("service", type=click.Choice(sorted(SERVICES)))
def run(service: str) -> None:
    """Run one service in this process (configured by the EHR_* environment)."""
    from ehr.runner import run_service
    from shared.config import ConfigError, load_settings, service_environment

    descriptor = suite.service(service)
    try:
        load_settings(service_environment(descriptor, dict(os.environ))).require_service_keys(descriptor)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    run_service(service)


@main.command()
@click.option("--demo-data/--no-demo-data", default=False,
              help="also load the demo county (朝阳区: divisions, clinics, hospitals) into a new registry")
def migrate(demo_data: bool) -> None:
    """Create each service's database if missing and apply its migrations. No demo data unless
    asked for: load your own divisions and institutions with `ehr import reference`."""
    from ehr.setup import migrate_all

    for service, created in migrate_all(demo_data=demo_data).items():
        click.echo(f"{service}: {'created and migrated' if created else 'migrated'}")


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True}, add_help_option=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench(args: tuple[str, ...]) -> None:
    """Run the benchmarks: the same as `python -m bench ARGS` (`ehr bench --help` lists them)."""
    os.execv(sys.executable, [sys.executable, "-m", "bench", *args])


@main.command()
@click.option("--residents", default=20, show_default=True, help="synthetic residents to register")
@click.option("--encounters", "encounters_each", default=3, show_default=True, help="per resident")
@click.option("--seed", type=int, default=None, help="the synthesizer's seed, to repeat a feed")
def demo(residents: int, encounters_each: int, seed: int | None) -> None:
    """Register synthetic residents and publish their hospital encounters, and give one centre a
    few months of programme work (enrolments, follow-ups, a suggestion: its work list) (with fresh
    demo API keys of the township systems, created in the gateway database and revoked when it
    ends, and fresh broker accounts of the demo hospitals, centres and insurer, through which the
    hospitals publish encounters and the insurer settlements)."""
    from ehr.access import create_demo_keys, revoke_demo_keys
    from ehr.broker import BrokerAdminError, grant_demo_accounts, refusal
    from ehr.demo import run_demo
    from shared.config import load_settings

    settings = load_settings()
    try:
        brokers = grant_demo_accounts(settings)
    except BrokerAdminError as exc:
        raise refusal(exc) from None
    keys = create_demo_keys()
    try:
        result = run_demo(f"http://{settings.gateway_host}:{settings.gateway_port}", keys, brokers,
                          residents=residents, encounters_each=encounters_each, seed=seed, echo=click.echo)
        click.echo("\n".join(result["hints"]))
    finally:
        revoke_demo_keys(keys)


@main.command()
@click.argument("institution")
@click.option("--jurisdiction", required=True, metavar="DIGITS",
              help="county (6 digits), township (9) or village (12) to bind: the account's own division or within it")
@click.option("--password", envvar="EHR_BROKER_PASSWORD", default=None,
              help="the account's password from `ehr broker grant` (or set EHR_BROKER_PASSWORD)")
@click.option("--uri", default=None, help="amqp://ACCOUNT:PASSWORD@HOST:PORT/VHOST, instead of --password")
@click.option("--queue", default=None, help="durable queue name (default township.<INSTITUTION>)")
def subscribe(institution: str, jurisdiction: str, password: str | None, uri: str | None, queue: str | None) -> None:
    """Consume the archive updates of a jurisdiction as township system INSTITUTION, with its own
    broker account: bind its durable queue and print each update as it arrives, reconnecting after
    a broker restart (ehr/subscriber.py). The example of a township consumer; the broker refuses a
    jurisdiction outside the account's."""
    from ehr.broker import partner_uri
    from ehr.subscriber import Refused, follow
    from shared.config import load_settings
    from shared.messaging import BrokerAccounts, jurisdiction_binding, township_queue

    try:
        binding_key = jurisdiction_binding(jurisdiction)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--jurisdiction") from None
    settings = load_settings()
    setting = "--uri"
    if uri is None:
        if not password:
            raise click.UsageError("give the account's --password (or EHR_BROKER_PASSWORD), or --uri")
        account = BrokerAccounts.from_settings(settings).partner(institution)
        uri = partner_uri(settings.amqp_uri, account, password)
        setting = f"EHR_AMQP_URI's broker, account {account} with --password or EHR_BROKER_PASSWORD"
    try:
        follow(uri, queue or township_queue(institution), binding_key,
               on_update=lambda body: click.echo(json.dumps(body, ensure_ascii=False)),
               echo=lambda line: click.echo(line, err=True), setting=setting)
    except KeyboardInterrupt:
        pass
    except Refused as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.argument("service", type=click.Choice(SERVICES))
@click.option("--ready", is_flag=True,
              help="check readiness instead: the service's database (as its own role), the broker "
                   "and its queues, migrations at head")
@click.option("--process", default=None,
              help="the process to check (default EHR_PROCESS, else SERVICE: a container's process)")
@click.option("--json", "as_json", is_flag=True, help="the checks as one JSON object")
def health(service: str, ready: bool, process: str | None, as_json: bool) -> None:
    """Exit 0 when SERVICE's process on this machine is live (its heartbeat file, in EHR_RUN_DIR,
    is fresh), or with --ready when its database, broker and migrations are ready; else exit 1.
    What docker-compose and the systemd units check."""
    from shared.config import ConfigError, load_settings
    from shared.transport.health import heartbeat_path, is_ready, liveness, readiness

    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    descriptor = suite.service(service)
    if ready:
        checks = readiness(descriptor, settings)
    else:
        name = process or settings.process_name or service
        checks = {"live": liveness(heartbeat_path(settings.run_dir, name))}
    if as_json:
        click.echo(json.dumps({"service": service, "ok": is_ready(checks), "checks": checks}))
    else:
        click.echo(f"{service}: " + ", ".join(f"{check} {value}" for check, value in checks.items()))
    sys.exit(0 if is_ready(checks) else 1)


@main.group(invoke_without_command=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write them to this new file, readable by its owner only (mode 0600), e.g. .env")
@click.pass_context
def keys(ctx: click.Context, output: Path | None) -> None:
    """Print fresh keys for EHR_PII_KEY (the registry's), EHR_RECORDS_PII_KEY, EHR_INDEX_KEY,
    EHR_TOKEN_KEY, EHR_SERVICE_KEY and EHR_AUDIT_KEY, or write them to a new file only its owner
    may read (--output; an existing file is left alone); after a rotation of a PII key,
    `ehr keys reencrypt` moves every ciphertext to the new key."""
    if ctx.invoked_subcommand is not None:
        return
    from ehr.setup import KEY_VARIABLES
    from shared.config import generate_key

    lines = "\n".join(f"{name}={generate_key()}" for name in KEY_VARIABLES) + "\n"
    if output is None:
        click.echo(lines, nl=False)
        return
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise click.ClickException(f"{output} exists: keys are never overwritten (move it away first)") from None
    with os.fdopen(fd, "w") as f:
        f.write(lines)
    click.echo(f"wrote {len(KEY_VARIABLES)} keys to {output} (mode 0600)", err=True)


@keys.command("reencrypt")
@click.option("--dry-run", is_flag=True, help="only count the ciphertexts still under an old key")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(min=1),
              help="rows per transaction")
@click.option("--service", "services", multiple=True, type=click.Choice(["registry", "records"]),
              help="only this service's database (with only its keys, as in its container); default both")
def keys_reencrypt(dry_run: bool, batch_size: int, services: tuple[str, ...]) -> None:
    """Re-encrypt with each service's current key what older keys sealed, and bind ciphertexts of
    the first format to their rows: ID and phone numbers, card numbers and MRNs in the registry
    (EHR_PII_KEY, EHR_PII_OLD_KEYS), pending and quarantined messages in records
    (EHR_RECORDS_PII_KEY, EHR_RECORDS_PII_OLD_KEYS). Runs beside the services, in short batches;
    run it again until it reports 0 remaining, then the old keys can go. Exit status 1 if a
    ciphertext opens with no configured key."""
    from ehr.databases import service_engine
    from ehr.setup import ensure_keys
    from services.records import reencrypt as records
    from services.registry import reencrypt as registry
    from shared.config import ConfigError, load_settings
    from shared.pii import service_box

    services = services or ("registry", "records")
    ensure_keys(state.STATE_DIR, services)
    try:
        settings = load_settings()
        boxes = {service: service_box(settings, service) for service in services}
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    reports = []
    for service, module in (("registry", registry), ("records", records)):
        if service not in boxes:
            continue
        with service_engine(service, settings) as engine:
            for report in module.reencrypt(engine, boxes[service], batch_size=batch_size, dry_run=dry_run):
                reports.append(report)
                counts = (f"{report.stale} under an old key" if dry_run else
                          f"{report.rewritten} re-encrypted, {report.failed} unreadable, {report.remaining} remaining")
                click.echo(f"{service:<9} {report.column:<34} {counts}")
    failed, remaining = sum(r.failed for r in reports), sum(r.remaining for r in reports)
    if dry_run:
        click.echo(f"{remaining} ciphertexts under an old key (dry run: nothing changed)")
        return
    click.echo(f"{sum(r.rewritten for r in reports)} re-encrypted, {remaining} remaining under an old key")
    if failed:
        raise click.ClickException(f"{failed} ciphertexts open with none of the configured keys: add the key "
                                   "that sealed them to EHR_PII_OLD_KEYS (registry) or EHR_RECORDS_PII_OLD_KEYS "
                                   "(records) and run again")
    if remaining:
        click.echo("some rows were busy: run the command again")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8090, show_default=True, type=click.IntRange(0, 65535), help="port (0: any free one)")
@click.option("--token", envvar="EHR_PLATFORM_TOKEN", default=None,
              help="the bearer token senders must give (or EHR_PLATFORM_TOKEN, EHR_PLATFORM_TOKEN_FILE; "
                   "default: a new one, written to DATA/token)")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="where it keeps what it accepted (default EHR_STATE_DIR/platform, else a new temporary directory)")
@click.option("--control/--no-control", default=None,
              help="accept the fault control endpoints (/control/...); default on for a loopback host only")
def platform(host: str, port: int, token: str | None, data_dir: Path | None, control: bool | None) -> None:
    """A fake regional health information platform for development and tests: checks each CDA or
    FHIR document it is sent, accepts it or rejects it with reasons, keeps what it accepted, and can
    be told to fail (docs/contracts.md, "The regional platform"). Runs until Ctrl-C."""
    from ehr.platform.cli import resolve, run

    run(*resolve(host, token, data_dir, control, os.environ), host=host, port=port)


def _register_operator_commands() -> None:
    from ehr.access import apikey, audit, user
    from ehr.broker import broker
    from ehr.imports import import_
    from ehr.operate import pending, quarantine
    from ehr.referrals import referrals
    from ehr.registry import registry
    from ehr.sync import sync

    main.add_command(import_)
    main.add_command(quarantine)
    main.add_command(pending)
    main.add_command(user)
    main.add_command(apikey)
    main.add_command(audit)
    main.add_command(broker)
    main.add_command(registry)
    main.add_command(referrals)
    main.add_command(sync)


_register_operator_commands()


def entry_point() -> None:
    """The `ehr` command (console script and `python -m ehr`): `main`, with a connection
    failure told in one line naming the setting, and exit status 69 (ehr/unreachable.py)."""
    from ehr.unreachable import exit_when_unreachable

    with exit_when_unreachable():
        main()
