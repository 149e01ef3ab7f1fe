"""An archive's life: terminating it (death, migration out, loss to follow-up) and reactivating
it (the registry), and until when it must be kept (the records service, which sees its records)."""

from __future__ import annotations

from shared.contracts.records import RetentionSchema
from shared.contracts.registry import ReasonSchema

from services.gateway import access
from services.gateway.routes.route import Answer, Body, Route, area
# The registry loads the termination and shapes the answer; the gateway passes both through.
from shared.contracts import registry as registry_contracts

ROUTES = area(
    "lifecycle",
    Route("POST", "/api/v1/archives/<string:archive_no>/termination", "terminate_archive", access.ARCHIVE_TERMINATE,
          lambda c: c.registry.terminate_archive(c.archive["archive_no"], c.body),
          summary="Terminate the archive (终止): death (date, cause), migration out (date, destination, "
                  "handover) or loss to follow-up (date, reason); it is kept, findable, closed to clinical writes",
          body=Body(registry_contracts.TerminationSchema, passthrough=True),
          answers=(Answer(200, "Terminated", registry_contracts.ArchiveDetailSchema),), errors=(400, 404, 422, 503)),
    Route("POST", "/api/v1/archives/<string:archive_no>/reactivation", "reactivate_archive",
          access.ARCHIVE_REACTIVATE,
          lambda c: c.registry.reactivate_archive(c.archive["archive_no"], c.body["reason"]),
          summary="Reactivate an archive terminated for migration or loss to follow-up (the resident returned)",
          body=Body(ReasonSchema),
          answers=(Answer(200, "Active again", registry_contracts.ArchiveDetailSchema),), errors=(400, 404, 422, 503)),
    Route("GET", "/api/v1/archives/<string:archive_no>/retention", "archive_retention", access.ARCHIVE_RETENTION,
          lambda c: c.records.archive_retention(c.archive["archive_no"]),
          summary="Until when the archive must be kept: 15 years from its last service or termination, 30 from "
                  "its last inpatient record (domain rules, by reference to medical records); nothing is deleted",
          answers=(Answer(200, "Its retention", RetentionSchema),), errors=(400, 404, 503)),
)
