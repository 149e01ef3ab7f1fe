"""What township systems copy survives a RabbitMQ restart: `ehr subscribe` and the consumer example
of docs/contracts.md, run as written (only the address and the queue's name changed), both keep
consuming their durable queues after `rabbitmqctl stop_app`, a few seconds down, `start_app`.

The broker is the machine's own, shared with every other test: the restart is kept to a few
seconds and the broker is started again whatever happens (as in test_broker_restart.py).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import amqp
import pytest

from ehr.broker import Management
from shared.config import load_settings
from shared.transport.topology import declare_topology
from tests.e2e.test_broker_restart import broker_is_up, rabbitmqctl
from tests.support.amqp import connect, wait_until

pytestmark = pytest.mark.e2e

DOWN_SECONDS = 3
CONTRACTS = Path(__file__).resolve().parents[2] / "docs" / "contracts.md"
EXAMPLE_URI = '"amqp://inst-T1101051011:secret@mq.example:5672//"'
EXAMPLE_QUEUE = '"township.T1101051011",'


def documented_consumer(uri: str, queue: str) -> str:
    """The 'Receiving updates with kombu' example, pointed at this run's vhost and queue."""
    section = CONTRACTS.read_text(encoding="utf-8").split("### Receiving updates with `kombu`")[1]
    code = section.split("```python\n")[1].split("```")[0]
    assert code.count(EXAMPLE_URI) == 1 and code.count(EXAMPLE_QUEUE) == 1
    return code.replace(EXAMPLE_URI, repr(uri)).replace(EXAMPLE_QUEUE, f"{queue!r},")


class Lines:
    """The lines a process writes to one of its pipes, collected by a thread."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))


def publish_updates(amqp_uri: str, count: int) -> set[str]:
    """`count` archive updates of township 110105101, as the suite announces them."""
    ids = {str(uuid.uuid4()) for _ in range(count)}
    conn = connect(amqp_uri)
    channel = conn.channel()
    channel.confirm_select()
    for n, update_id in enumerate(sorted(ids)):
        body = {"update_id": update_id, "archive_no": "11010510110100007", "record_id": f"r-{update_id[:8]}-{n}"}
        channel.basic_publish(amqp.Message(json.dumps(body), content_type="application/json", delivery_mode=2),
                              exchange="ehr.archive-updates", routing_key="archive.110105.101.101.filed")
    conn.close()
    return ids


def consumers_of(queue: str, vhost: str) -> int:
    api = Management(load_settings().broker_admin_url, vhost=vhost)
    found = api.call("GET", api.path("queues", vhost, queue), missing_ok=True)
    return (found or {}).get("consumers", 0)


def test_ehr_subscribe_and_the_documented_consumer_keep_consuming_across_a_broker_restart(suite_env, tmp_path):
    declare_topology(suite_env.amqp_uri)
    cli_queue, doc_queue = f"township.{suite_env.name}.cli", f"township.{suite_env.name}.doc"
    cli = subprocess.Popen([sys.executable, "-m", "ehr", "subscribe", "T1101051011", "--jurisdiction", "110105101",
                            "--uri", suite_env.amqp_uri, "--queue", cli_queue],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    doc = subprocess.Popen([sys.executable, "-c", documented_consumer(suite_env.amqp_uri, doc_queue)], cwd=tmp_path,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    printed, said, doc_said = Lines(cli.stdout), Lines(cli.stderr), Lines(doc.stderr)
    applied = tmp_path / "township-updates.db"

    def cli_received() -> set[str]:
        return {json.loads(line)["update_id"] for line in printed.lines}

    def doc_applied() -> set[str]:
        if not applied.exists():
            return set()
        with sqlite3.connect(applied) as db:
            return {row[0] for row in db.execute("SELECT update_id FROM applied_updates")}

    try:
        wait_until(lambda: consumers_of(cli_queue, suite_env.vhost) and consumers_of(doc_queue, suite_env.vhost),
                   timeout=60, message="both consumers bound")
        before = publish_updates(suite_env.amqp_uri, 5)
        wait_until(lambda: before <= cli_received() and before <= doc_applied(), timeout=60, message="updates before")

        try:
            rabbitmqctl("stop_app")
            time.sleep(DOWN_SECONDS)  # the outage itself, not a wait for a result
        finally:
            rabbitmqctl("start_app")
            rabbitmqctl("await_startup")
        wait_until(lambda: broker_is_up(suite_env.amqp_uri), timeout=60, message="the broker back")

        after = publish_updates(suite_env.amqp_uri, 5)
        wait_until(lambda: after <= cli_received() and after <= doc_applied(), timeout=120,
                   message="updates after the restart")
        assert cli.poll() is None, said.lines  # neither gave up
        assert doc.poll() is None, doc_said.lines
        assert cli_received() == doc_applied() == before | after
        assert any(line.startswith("the connection to the broker was lost") for line in said.lines), said.lines
        assert any(line.startswith(f"consuming again: bound {cli_queue}") for line in said.lines), said.lines
    finally:
        for proc in (cli, doc):
            proc.terminate()
            proc.wait(30)
        for queue in (cli_queue, doc_queue):
            api = Management(load_settings().broker_admin_url, vhost=suite_env.vhost)
            api.call("DELETE", api.path("queues", suite_env.vhost, queue), missing_ok=True)
