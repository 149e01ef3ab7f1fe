"""Merges: two archives of one person become one (both in the caller's scope), journaled so
that a merge can be undone (the registry)."""

from __future__ import annotations

from shared.contracts.registry import MergeRequestSchema, ReasonSchema
from shared.errors import NotFound

from services.gateway import access
from services.gateway.routes.route import Answer, Body, Call, Route, area
# The registry shapes the answers; the gateway passes them through.
from shared.contracts.registry import MergeSchema


def _merge(c: Call) -> dict:
    """The path's merge, if its surviving archive lies in the caller's scope; else 404."""
    merge_id = c.path["merge_id"]
    merge = c.registry.get_merge(c.entry_id("merge"))
    c.gate.note(archive_no=merge["archive_no"])
    try:
        c.gate.archive_in_scope(merge["archive_no"], "archive_no")
    except NotFound:
        raise NotFound("no such merge", {"merge_id": merge_id}) from None
    return merge


def merge_archives(c: Call):
    data = c.body
    surviving = c.gate.archive_in_scope(data["surviving_archive_no"], "surviving_archive_no")
    c.gate.note(archive_no=surviving["archive_no"], target=f"archive:{data['merged_archive_no']}")
    c.gate.archive_in_scope(data["merged_archive_no"], "merged_archive_no")
    merge = c.registry.merge_archives(surviving["archive_no"], data["merged_archive_no"], data["reason"])
    c.gate.note(target=f"merge:{merge['merge_id']}")
    return 201, merge


def unmerge_archives(c: Call):
    merge = _merge(c)
    with c.gate.disclosing():
        return c.registry.unmerge_archives(merge["merge_id"], c.body["reason"], scope=c.gate.scope())


ROUTES = area(
    "merges",
    Route("GET", "/api/v1/archives/<string:archive_no>/merges", "list_merges", access.MERGES_LIST,
          lambda c: c.registry.list_merges(c.archive["archive_no"]),
          summary="Merges into the archive, newest first (undone ones too)",
          answers=(Answer(200, "The merges", MergeSchema, many=True),), errors=(400, 404, 503)),
    Route("POST", "/api/v1/merges", "merge_archives", access.ARCHIVE_MERGE, merge_archives,
          summary="Merge two archives of one person (both in your scope): the merged archive's number, "
                  "ID number and records lead to the surviving one; journaled so it can be undone",
          body=Body(MergeRequestSchema),
          answers=(Answer(201, "Merged", MergeSchema),), errors=(400, 404, 409, 422, 503)),
    Route("GET", "/api/v1/merges/<int:merge_id>", "get_merge", access.MERGE_READ, _merge,
          summary="A merge from the journal",
          answers=(Answer(200, "The merge", MergeSchema),), errors=(404, 503)),
    Route("POST", "/api/v1/merges/<int:merge_id>/unmerge", "unmerge_archives", access.ARCHIVE_UNMERGE,
          unmerge_archives,
          summary="Undo a merge, even after later writes: each archive gets back what is its own",
          body=Body(ReasonSchema),
          answers=(Answer(200, "Undone", MergeSchema),), errors=(400, 404, 422, 503)),
)
