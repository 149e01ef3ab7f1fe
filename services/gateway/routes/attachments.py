"""Files kept with an archive (check reports, referral papers, scans of the paper archive) and
the resident's copy of the archive (the records service).

The upload is JSON with the file in base64 (`AttachmentCreateSchema`); the records service
decodes it and reads the content type from the bytes; its body may be as large as the base64
of EHR_MAX_ATTACHMENT_BYTES (5 MiB) plus 64 KiB, past EHR_MAX_BODY_BYTES (1 MiB), which every
other route keeps. Reading a file or the export is an audited read like any other guarded call.

    POST /api/v1/archives/11010510110100007/attachments
         {"attachment_type": "check_report", "content": "JVBERi0x...", "document_date": "2026-11-20"}
      -> 201 {"attachment_id": 12, "content_type": "application/pdf", "sha256": "...", ...}
    GET  /api/v1/archives/11010510110100007/attachments/12   -> 200 the PDF itself
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from werkzeug.wrappers import Response

from shared.contracts.records import (
    ATTACHMENT_CONTENT_TYPES, ArchiveExportSchema, AttachmentCreateSchema, AttachmentListSchema, AttachmentSchema,
    EnteredInErrorSchema,
)

from services.gateway import access
from services.gateway.routes.route import Answer, Body, Call, Route, area

ARCHIVE = "/api/v1/archives/<string:archive_no>"
BASE64_SLACK = 64 << 10  # the rest of the JSON body around the file


def upload_bytes(settings) -> int:
    """The upload route's body bound: the base64 of the largest file, and the JSON around it."""
    return (settings.max_attachment_bytes + 2) // 3 * 4 + BASE64_SLACK


def add_attachment(c: Call):
    attachment = c.records.add_attachment(c.archive["archive_no"], c.body)
    c.gate.note(target=f"attachment:{attachment['attachment_id']}")
    return 201, attachment


def attachment_file(c: Call) -> Response:
    """The file as it was added, with the type its bytes showed; its status in a header (one
    marked entered-in-error is still served, flagged)."""
    attachment = c.records.get_attachment(c.archive["archive_no"], c.entry_id("attachment"))
    c.gate.note(target=f"attachment:{attachment['attachment_id']}")
    name = attachment["filename"] or f"attachment-{attachment['attachment_id']}"
    return Response(base64.b64decode(attachment["content"]), mimetype=attachment["content_type"], headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
        "X-Content-Type-Options": "nosniff",
        "X-Attachment-Status": attachment["status"],
        "X-Attachment-Sha256": attachment["sha256"],
    })


def export_archive(c: Call) -> Response:
    """The resident's copy as one JSON file, to save: the records service's export, with the file
    of each attachment that stands fetched one by one (each fits one message; all may not)."""
    document = c.records.export_archive(c.archive["archive_no"])
    document["attachments"] = [
        c.records.get_attachment(c.archive["archive_no"], a["attachment_id"]) if a["status"] == "active" else a
        for a in document["attachments"]]
    return Response(json.dumps(document, ensure_ascii=False), mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="archive-{document["archive"]["archive_no"]}.json"'})


FILE = {"type": "string", "format": "binary"}

ROUTES = area(
    "attachments",
    Route("POST", ARCHIVE + "/attachments", "add_attachment", access.ATTACHMENT_ADD, add_attachment,
          summary="Keep a file with the archive: a check report, a referral paper, a scan of the paper archive "
                  "(PDF, JPEG or PNG by its bytes, at most EHR_MAX_ATTACHMENT_BYTES)",
          description="The body may reach the base64 size of EHR_MAX_ATTACHMENT_BYTES (5 MiB) plus 64 KiB; "
                      "a file that is not a PDF, JPEG or PNG by its first bytes answers 400 naming `content`.",
          body=Body(AttachmentCreateSchema), body_bytes=upload_bytes,
          answers=(Answer(201, "Kept", AttachmentSchema),), errors=(400, 404, 413, 422, 503)),
    Route("GET", ARCHIVE + "/attachments", "list_attachments", access.ATTACHMENTS_LIST,
          lambda c: c.records.list_attachments(c.archive["archive_no"]),
          summary="The archive's attachments, newest document first, without their files (each with its status)",
          answers=(Answer(200, "The list", AttachmentListSchema),), errors=(400, 404, 503)),
    Route("GET", ARCHIVE + "/attachments/<int:attachment_id>", "get_attachment", access.ATTACHMENT_READ,
          attachment_file,
          summary="One attachment's file, as it was added (an audited read)",
          answers=(Answer(200, "The file; `X-Attachment-Status` says whether it was marked entered-in-error",
                          FILE, media=ATTACHMENT_CONTENT_TYPES),),
          errors=(400, 404, 503)),
    Route("POST", ARCHIVE + "/attachments/<int:attachment_id>/entered-in-error", "mark_attachment_entered_in_error",
          access.ATTACHMENT_MARK_IN_ERROR,
          lambda c: c.records.mark_attachment_entered_in_error(c.archive["archive_no"], c.entry_id("attachment"),
                                                               c.body["reason"]),
          summary="Mark an attachment as entered in error (it is kept and listed, flagged, with the reason)",
          body=Body(EnteredInErrorSchema),
          answers=(Answer(200, "Marked", AttachmentSchema),), errors=(400, 404, 422, 503)),
    Route("GET", ARCHIVE + "/export", "export_archive", access.ARCHIVE_EXPORT, export_archive,
          summary="The resident's copy: the archive, its records with every revision and its attachments "
                  "with their files, as one JSON document (ehr.archive-export/1)",
          answers=(Answer(200, "The copy", ArchiveExportSchema),), errors=(400, 404, 503)),
)
