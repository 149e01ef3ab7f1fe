"""Transfers (迁出/迁入): the sending side asks, the receiving side accepts or rejects, the sending
side may cancel; both sides see it (the registry; sides in `access.transfer_sides`)."""

from __future__ import annotations


from shared.contracts.gateway import TransferQuerySchema
from shared.contracts.registry import OptionalReasonSchema, ReasonSchema

from services.gateway import access
from services.gateway.routes.route import Answer, Body, Call, Route, area
# The registry loads the request and shapes the answers; the gateway passes both through.
from shared.contracts import registry as registry_contracts




def _transfer(c: Call, *sides: str) -> dict:
    """The path's transfer, if the caller stands on one of `sides` of it; else 404."""
    transfer = c.registry.get_transfer(c.entry_id("transfer"))
    return c.gate.transfer_side(transfer, *sides)


def request_transfer(c: Call):
    transfer = c.registry.request_transfer(c.archive["archive_no"], c.body)
    c.gate.note(target=f"transfer:{transfer['transfer_id']}")
    return 201, transfer


ROUTES = area(
    "transfers",
    Route("POST", "/api/v1/archives/<string:archive_no>/transfers", "request_transfer", access.TRANSFER_REQUEST,
          request_transfer,
          summary="Ask another village or township to take the archive over (迁出); it decides",
          body=Body(registry_contracts.TransferRequestSchema, passthrough=True),
          answers=(Answer(201, "Requested", registry_contracts.TransferSchema),), errors=(400, 404, 409, 422, 503)),
    Route("GET", "/api/v1/archives/<string:archive_no>/transfers", "list_archive_transfers", access.TRANSFERS_LIST,
          lambda c: c.registry.list_transfers(archive_no=c.archive["archive_no"], limit=200),
          summary="The archive's transfers, newest first",
          answers=(Answer(200, "The transfers", registry_contracts.TransferSchema, many=True),), errors=(400, 404, 503)),
    Route("GET", "/api/v1/transfers", "list_incoming_transfers", access.TRANSFERS_INCOMING,
          lambda c: c.registry.list_transfers(to_institution_code=c.gate.caller.institution_code,
                                              status=c.query["status"], limit=c.query["limit"]),
          summary="Transfers addressed to your institution (迁入 work list), newest first",
          query=TransferQuerySchema,
          answers=(Answer(200, "The transfers", registry_contracts.TransferSchema, many=True),), errors=(400, 503)),
    Route("GET", "/api/v1/transfers/<int:transfer_id>", "get_transfer", access.TRANSFER_READ,
          lambda c: _transfer(c, access.SENDING, access.RECEIVING),
          summary="A transfer, to either of its sides",
          answers=(Answer(200, "The transfer", registry_contracts.TransferSchema),), errors=(404, 503)),
    Route("POST", "/api/v1/transfers/<int:transfer_id>/accept", "accept_transfer", access.TRANSFER_ACCEPT,
          lambda c: c.registry.accept_transfer(_transfer(c, access.RECEIVING)["transfer_id"]),
          summary="Accept a transfer (the receiving side): the archive moves, with a new number when the "
                  "village changes; the old number still leads to it",
          answers=(Answer(200, "Accepted", registry_contracts.TransferAcceptedSchema),), errors=(400, 404, 409, 422, 503)),
    Route("POST", "/api/v1/transfers/<int:transfer_id>/reject", "reject_transfer", access.TRANSFER_REJECT,
          lambda c: c.registry.reject_transfer(_transfer(c, access.RECEIVING)["transfer_id"], c.body["reason"]),
          summary="Reject a transfer (the receiving side), with the reason", body=Body(ReasonSchema),
          answers=(Answer(200, "Rejected", registry_contracts.TransferSchema),), errors=(400, 404, 422, 503)),
    Route("POST", "/api/v1/transfers/<int:transfer_id>/cancel", "cancel_transfer", access.TRANSFER_CANCEL,
          lambda c: c.registry.cancel_transfer(_transfer(c, access.SENDING)["transfer_id"], c.body["reason"]),
          summary="Withdraw a transfer request (the sending side)", body=Body(OptionalReasonSchema, required=False),
          answers=(Answer(200, "Cancelled", registry_contracts.TransferSchema),), errors=(400, 404, 422, 503)),
)
