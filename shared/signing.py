"""Authentication of the suite's internal messages with the service key (EHR_SERVICE_KEY).

The broker's permissions keep partners away from RPC and `ehr.events`; this is the second lock,
so that a leaked partner account or a misconfigured permission is not enough to act as a user or
to announce an event. Every service process holds the same 32-byte key; one HMAC-SHA256 per
message, no round trip.

RPC calls. The caller signs every request (with an acting user or without one: a call without
an actor runs as `system`, the most trusted caller of all, so it must not be the easy one to
forge). The signature covers the acting user's fields (`ehr.user`, `ehr.institution`,
`ehr.role`, `ehr.request_id`), the call's correlation id and target (`registry.get_archive`),
the request body and the signing time; it travels in the context data as
`ehr.signature` and `ehr.signed_at` (AMQP headers `nameko.ehr.signature`, `nameko.ehr.signed_at`):

    headers = call_headers(key, headers, "registry.get_archive", correlation_id, body_bytes)
    check_call(key, message)        # raises Refused("signature does not match") on the receiver

A captured signature is worth nothing on another call (other correlation id, target or
arguments) nor, after `CALL_WINDOW` seconds, on the same one.

Events and other outbox messages. The outbox relay signs what it publishes over the exchange,
routing key, message id and body bytes, in the AMQP header `x-ehr-signature`:

    message.application_headers[EVENT_SIGNATURE] = event_signature(key, exchange, rk, mid, body)
    check_event(key, "ehr.events", delivery)   # raises Refused before a consumer acts on it

No time window for events: they may wait in a durable queue for hours, and a repeat is dropped by
the consumer's idempotency record (the body's `event_id` is signed with it).

A refusal names the check that failed, never the message's content.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from shared.actor import INSTITUTION_KEY, REQUEST_ID_KEY, ROLE_KEY, USER_KEY

SIGNATURE_KEY = "ehr.signature"     # context data keys; nameko sends them as `nameko.<key>` headers
SIGNED_AT_KEY = "ehr.signed_at"
RPC_HEADER_PREFIX = "nameko."
EVENT_SIGNATURE = "x-ehr-signature"  # AMQP header of a signed outbox message
CALL_WINDOW = 300.0                  # seconds a call's signature is accepted (clock skew included)

_ACTOR_KEYS = (USER_KEY, INSTITUTION_KEY, ROLE_KEY, REQUEST_ID_KEY)


class Refused(Exception):
    """A message that is not signed with the service key, or not for what it claims to be."""


def _raw(body: bytes | str, encoding: str | None) -> bytes:
    # py-amqp hands over a body with a content_encoding already decoded: encoding it again gives
    # back the bytes that were signed.
    return body.encode(encoding or "utf-8") if isinstance(body, str) else body


def _mac(key: bytes, parts: list[Any], body: bytes) -> str:
    # Each part length-prefixed (None is "-"), then the body: no two messages encode alike.
    # hmac.digest is the one-shot C path: a few microseconds for a message of a few hundred bytes.
    fields = "".join("-" if p is None else f"{len(str(p))}:{p}" for p in parts).encode("utf-8")
    return hmac.digest(key, fields + body, "sha256").hex()


def _call_mac(key: bytes, headers: dict[str, Any], target: str, correlation_id: str, body: bytes,
              signed_at: str) -> str:
    actor = [headers.get(RPC_HEADER_PREFIX + k) for k in _ACTOR_KEYS]
    return _mac(key, ["ehr-rpc/1", signed_at, target, correlation_id, *actor], body)


def call_headers(key: bytes, headers: dict[str, Any], target: str, correlation_id: str,
                 body: bytes, now: float | None = None) -> dict[str, str]:
    """The signature headers of one RPC request: `headers` are the request's (its context data,
    `nameko.ehr.user` ...), `target` is `service.method`, `body` the serialized request."""
    signed_at = f"{time.time() if now is None else now:.3f}"
    signature = _call_mac(key, headers, target, correlation_id, body, signed_at)
    return {RPC_HEADER_PREFIX + SIGNATURE_KEY: signature, RPC_HEADER_PREFIX + SIGNED_AT_KEY: signed_at}


def check_call(key: bytes, message, now: float | None = None) -> None:
    """Verify an RPC request as received (a kombu message); raises `Refused` with the reason."""
    headers = message.headers or {}
    signature = headers.get(RPC_HEADER_PREFIX + SIGNATURE_KEY)
    signed_at = headers.get(RPC_HEADER_PREFIX + SIGNED_AT_KEY)
    if not isinstance(signature, str) or not isinstance(signed_at, str):
        raise Refused("call not signed with the service key")
    try:
        age = (time.time() if now is None else now) - float(signed_at)
    except ValueError:
        raise Refused("call signature time is malformed") from None
    if abs(age) > CALL_WINDOW:
        raise Refused("call signature is outside its time window")
    target = message.delivery_info.get("routing_key", "")
    correlation_id = message.properties.get("correlation_id") or ""
    body = _raw(message.body, message.content_encoding)
    expected = _call_mac(key, headers, target, correlation_id, body, signed_at)
    if not hmac.compare_digest(expected, signature):
        raise Refused("call signature does not match")


def event_signature(key: bytes, exchange: str, routing_key: str, message_id: str, body: bytes) -> str:
    """The `x-ehr-signature` of one message the outbox publishes."""
    return _mac(key, ["ehr-event/1", exchange, routing_key, message_id], body)


def check_event(key: bytes, exchange: str, delivery) -> None:
    """Verify a consumed message (`shared.delivery.Delivery`) was published by the suite to
    `exchange` under its routing key; raises `Refused` with the reason."""
    signature = (delivery.headers or {}).get(EVENT_SIGNATURE)
    if not isinstance(signature, str):
        raise Refused("event not signed with the service key")
    body = _raw(delivery.body, "utf-8")
    expected = event_signature(key, exchange, delivery.routing_key, delivery.message_id or "", body)
    if not hmac.compare_digest(expected, signature):
        raise Refused("event signature does not match")


# -- the sync service's proof (EHR_SYNC_KEY) --------------------------------------------------------
#
# Every service holds the service key, so a signed call proves only that the suite made it. The
# one answer that carries a resident's full ID number (the registry's `identity_for_document`,
# which fills the documents sent to the regional platform) also wants a proof made with the sync
# key, which only the sync service and the registry hold: a gateway, even one taken over, cannot
# ask for it. The proof covers the method, the archive number and the time; it is accepted for
# `CALL_WINDOW` seconds.

def _identity_proof(key: bytes, purpose: str, subject: str, now: float | None) -> dict[str, str]:
    signed_at = f"{time.time() if now is None else now:.3f}"
    return {"signed_at": signed_at, "mac": _mac(key, [purpose, signed_at, subject], b"")}


def _check_identity_proof(key: bytes | None, purpose: str, subject: str, proof: Any, now: float | None) -> None:
    if key is None:
        raise Refused("this registry holds no EHR_SYNC_KEY: it answers no identity for a document")
    if not isinstance(proof, dict) or not isinstance(proof.get("mac"), str) or not isinstance(proof.get("signed_at"), str):
        raise Refused("identity proof missing")
    try:
        age = (time.time() if now is None else now) - float(proof["signed_at"])
    except ValueError:
        raise Refused("identity proof time is malformed") from None
    if abs(age) > CALL_WINDOW:
        raise Refused("identity proof is outside its time window")
    expected = _mac(key, [purpose, proof["signed_at"], subject], b"")
    if not hmac.compare_digest(expected, proof["mac"]):
        raise Refused("identity proof does not match")


def document_identity_proof(key: bytes, archive_no: str, now: float | None = None) -> dict[str, str]:
    """`{"signed_at": "1767225600.000", "mac": "9f..."}` for `identity_for_document(archive_no, proof)`."""
    return _identity_proof(key, "ehr-identity-for-document/1", archive_no, now)


def check_document_identity_proof(key: bytes | None, archive_no: str, proof: Any, now: float | None = None) -> None:
    """Refused (naming the check, never the archive) unless `proof` was made with `key` for
    `archive_no` within the window; a registry without the key refuses every proof."""
    _check_identity_proof(key, "ehr-identity-for-document/1", archive_no, proof, now)


def documents_identity_proof(key: bytes, archive_nos: list[str], now: float | None = None) -> dict[str, str]:
    """The proof for `identities_for_documents(archive_nos, proof)`: as `document_identity_proof`,
    over the numbers in the order asked."""
    return _identity_proof(key, "ehr-identities-for-documents/1", ",".join(archive_nos), now)


def check_documents_identity_proof(key: bytes | None, archive_nos: list[str], proof: Any,
                                   now: float | None = None) -> None:
    """Refused unless `proof` was made with `key` for exactly these numbers, in this order, within
    the window (see `check_document_identity_proof`)."""
    _check_identity_proof(key, "ehr-identities-for-documents/1", ",".join(archive_nos), proof, now)
