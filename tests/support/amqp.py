"""A plain AMQP client for tests (py-amqp, none of the suite's own publishing code): publish
like a hospital, listen like a township system."""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import unquote, urlparse

import amqp


TEST_CONNECTION_NAME = "ehr-test-client"  # tells the tests' connections from the suite's


def connect(amqp_uri: str) -> amqp.Connection:
    url = urlparse(amqp_uri)
    conn = amqp.Connection(
        host=f"{url.hostname}:{url.port or 5672}", userid=unquote(url.username or "guest"),
        password=unquote(url.password or "guest"), virtual_host=unquote(url.path[1:]) or "/",
        confirm_publish=True,
        client_properties={"connection_name": TEST_CONNECTION_NAME},
    )
    conn.connect()
    return conn


class Hospital:
    """Publishes encounters to `ehr.encounters` the way any HIS would, with `user_id` set to the
    account it connects as (RabbitMQ checks it; the suite files only what the account may send)."""

    def __init__(self, amqp_uri: str) -> None:
        self.account = unquote(urlparse(amqp_uri).username or "guest")
        self.conn = connect(amqp_uri)
        self.channel = self.conn.channel()
        self.channel.exchange_declare("ehr.encounters", "topic", durable=True, auto_delete=False)

    def publish(self, body, routing_key: str | None = None, message_id: str | None = "auto",
                content_type: str = "application/json", user_id: str | None = "auto",
                headers: dict | None = None) -> str | None:
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        if routing_key is None:
            routing_key = f"encounter.{body['source']['institution_code']}.{body['encounter']['kind']}"
        if message_id == "auto":
            message_id = str(uuid.uuid4())
        props = {"content_type": content_type, "delivery_mode": 2}
        if user_id is not None:
            props["user_id"] = self.account if user_id == "auto" else user_id
        if message_id is not None:
            props["message_id"] = message_id
        if headers:
            props["application_headers"] = headers
        self.channel.basic_publish(amqp.Message(raw, **props), exchange="ehr.encounters", routing_key=routing_key)
        return message_id

    def close(self) -> None:
        self.conn.close()


class Listener:
    """A queue bound to an exchange; `wait(n)` returns the first n decoded messages."""

    def __init__(self, amqp_uri: str, exchange: str, binding_key: str) -> None:
        self.conn = connect(amqp_uri)
        self.channel = self.conn.channel()
        self.channel.exchange_declare(exchange, "topic", durable=True, auto_delete=False)
        self.queue, _, _ = self.channel.queue_declare("", exclusive=True)
        self.channel.queue_bind(self.queue, exchange, binding_key)
        self.messages: list[dict] = []
        self.channel.basic_consume(self.queue, callback=self._on_message, no_ack=True)

    def _on_message(self, message) -> None:
        self.messages.append({"routing_key": message.delivery_info["routing_key"],
                              "message_id": message.properties.get("message_id"),
                              "body": json.loads(message.body)})

    def wait(self, count: int, timeout: float = 30.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"got {len(self.messages)} of {count} messages")
            try:
                self.conn.drain_events(timeout=min(remaining, 1.0))
            except TimeoutError:
                pass
            except OSError as exc:  # socket.timeout on older stacks
                if "timed out" not in str(exc):
                    raise
        return self.messages[:count]

    def settle(self, quiet: float = 1.0) -> list[dict]:
        """Everything that arrives until the queue stays quiet for `quiet` seconds."""
        while True:
            before = len(self.messages)
            try:
                self.conn.drain_events(timeout=quiet)
            except (TimeoutError, OSError):
                pass
            if len(self.messages) == before:
                return self.messages

    def close(self) -> None:
        self.conn.close()


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1, message: str = "condition"):
    """Poll `predicate` until it returns something truthy (returned) or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {message}")
        time.sleep(interval)
