"""A consumed message as a handler sees it: plain data, whatever transport delivered it.

The transport (`shared.transport.consumer`) builds one per message and keeps its own handle on
the broker's message in `message`, which use cases never touch:

    Delivery(body=b'{"schema": "ehr.encounter/1", ...}', routing_key="encounter.H1101050001.outpatient",
             message_id="H1101050001-OP-20260301-0001", content_type="application/json",
             headers={}, redelivered=False, user_id="inst-H1101050001")
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Delivery:
    """One message as a batch handler sees it."""

    body: bytes
    routing_key: str
    message_id: str | None
    content_type: str | None
    headers: dict[str, Any]
    redelivered: bool
    user_id: str | None = None  # the publishing account, when set (the broker has checked it)
    received_at: float = field(default_factory=time.time)
    message: Any = field(default=None, repr=False, compare=False)
