"""Registry events as the records service receives them: `ehr.event/1` deliveries, signed with
the run's service key as the registry's outbox signs them (or not, to forge one)."""

from __future__ import annotations

import json
import uuid
from urllib.parse import unquote, urlparse

from shared.config import load_settings
from shared.delivery import Delivery
from shared.messaging import EVENTS
from shared.signing import EVENT_SIGNATURE, event_signature


def registry_event(event_type: str, data: dict, key: bytes | None = None, signed: bool = True) -> Delivery:
    """A delivery of `registry.<event_type>` signed with `key` (default: EHR_SERVICE_KEY)."""
    event_id = str(uuid.uuid4())
    body = json.dumps({"schema": "ehr.event/1", "event_id": event_id, "event_type": event_type,
                       "service": "registry", "occurred_at": "2026-11-26T10:00:00+00:00", "actor": {},
                       "data": data}).encode()
    routing_key = f"registry.{event_type}"
    headers = {}
    if signed:
        key = key or load_settings().require_service_key()
        headers[EVENT_SIGNATURE] = event_signature(key, EVENTS, routing_key, event_id, body)
    return Delivery(body, routing_key, event_id, "application/json", headers, False)


class EventPublisher:
    """Publishes `ehr.event/1` messages to `ehr.events` as a service's outbox relay does: signed
    with the run's service key, the event id as the message id, the internal account as user_id.
    `publish` answers the body, so a test can publish the very same message again."""

    def __init__(self, amqp_uri: str) -> None:
        import amqp as py_amqp

        from tests.support.amqp import connect

        self._message = py_amqp.Message
        self.account = unquote(urlparse(amqp_uri).username or "guest")
        self.conn = connect(amqp_uri)
        self.channel = self.conn.channel()
        self.channel.exchange_declare(EVENTS, "topic", durable=True, auto_delete=False)
        self.key = load_settings().require_service_key()

    def event(self, service: str, event_type: str, data: dict) -> dict:
        return {"schema": "ehr.event/1", "event_id": str(uuid.uuid4()), "event_type": event_type, "service": service,
                "occurred_at": "2026-12-01T02:00:00+00:00", "actor": {}, "data": data}

    def publish(self, service: str, event_type: str, data: dict | None = None, body: dict | None = None) -> dict:
        body = body or self.event(service, event_type, data)
        raw = json.dumps(body, ensure_ascii=False).encode()
        routing_key = f"{body['service']}.{body['event_type']}"
        signature = event_signature(self.key, EVENTS, routing_key, body["event_id"], raw)
        self.channel.basic_publish(self._message(raw, content_type="application/json", delivery_mode=2,
                                                 message_id=body["event_id"], user_id=self.account,
                                                 application_headers={EVENT_SIGNATURE: signature}),
                                   exchange=EVENTS, routing_key=routing_key)
        return body

    def close(self) -> None:
        self.conn.close()
