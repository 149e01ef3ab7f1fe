"""Registry events as the records service receives them: `ehr.event/1` deliveries, signed with
the run's service key as the registry's outbox signs them (or not, to forge one)."""

from __future__ import annotations

import json
import uuid

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
