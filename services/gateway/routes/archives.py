"""Archives: create, read, find, correct the identity, their revisions and possible duplicates,
and the grants that open one outside the caller's scope."""

from __future__ import annotations


from shared.contracts.fields import PageQuerySchema
from shared.contracts.gateway import (
    AccessGrantRequestSchema, AccessGrantSchema, GrantPageSchema, GrantQuerySchema, IdentityUpdateSchema,
    SearchRequestSchema,
)
from shared.contracts.fields import load_input
# The registry loads these bodies and shapes these answers; the gateway passes both through.
from shared.contracts import registry as registry_contracts
from shared.contracts.registry import ArchiveCreateSchema, ArchivePageSchema, ArchiveSchema

from services.gateway import access
from services.gateway.routes.route import NEXT_PAGE, Answer, Body, Call, Route, area, documented








GrantQuery = documented(GrantQuerySchema, cursor=NEXT_PAGE, since={
    "format": "date-time", "description": "grants taken at or after this instant (with a UTC offset)"})


def create_archive(c: Call):
    c.gate.require_village(c.body.get("village_code"))
    c.gate.require_responsible_doctor(c.body.get("responsible_doctor"), c.body.get("institution_code"))
    with c.gate.disclosing():  # the registry names no archive outside the caller's scope
        archive = c.registry.create_archive(c.body, scope=c.gate.scope())
    c.gate.note(archive_no=archive["archive_no"])
    return 201, archive


def search_archives(c: Call):
    # POST, so that ID numbers and names stay out of URLs and the logs that keep them.
    filters = c.body
    page = load_input(PageQuerySchema(), {k: filters.pop(k) for k in ("limit", "cursor") if k in filters})
    return c.registry.search_archives(filters, limit=page["limit"], cursor=page["cursor"], scope=c.gate.scope())


def update_identity(c: Call):
    changes = c.body
    reason = changes.pop("reason", None)
    if "responsible_doctor" in changes:
        c.gate.require_responsible_doctor(changes["responsible_doctor"], c.archive["institution_code"])
    with c.gate.disclosing():
        return c.registry.update_identity(c.archive["archive_no"], changes, reason=reason, scope=c.gate.scope())


def attach_id_number(c: Call):
    with c.gate.disclosing():  # a 409 names the archive holding the number, if in scope
        return c.registry.attach_id_number(c.archive["archive_no"], c.body, scope=c.gate.scope())


def grant_access(c: Call):
    grant = c.gate.grant(c.path["archive_no"], c.body["reason"])
    c.relay()
    return (201 if grant["out_of_scope"] else 200), grant


ROUTES = area(
    "archives",
    Route("POST", "/api/v1/archives", "create_archive", access.ARCHIVE_CREATE, create_archive,
          summary="Create an archive and allocate its 17-digit number (403 for a village outside your jurisdiction, "
                  "or for an institution that keeps no archives: the health commission supervises)",
          description="The name is stored in its normal form (NFKC, no zero-width or direction characters). "
                      "Possible duplicates are archives of your jurisdiction with the same name, sex and birth "
                      "date, or a same-sounding name with the same birth date or phone; a phone alone never "
                      "makes one. The audit entry of a 409 names the archive numbers it disclosed. The "
                      "managing institution (`institution_code`) must be a primary-care unit serving the village "
                      "(400 naming it); `responsible_doctor` a clinician of that institution (400). A newborn's "
                      "archive leaves `id_number` out and names a guardian; attach the ID number later "
                      "(`POST /api/v1/archives/{archive_no}/id-number`).",
          body=Body(ArchiveCreateSchema, passthrough=True),
          answers=(Answer(201, "Created", ArchiveSchema),), errors=(400, 409, 503)),
    Route("GET", "/api/v1/archives/<string:archive_no>", "get_archive", access.ARCHIVE_READ,
          lambda c: c.archive,
          summary="Read an archive (ID number masked: its last four characters only)",
          answers=(Answer(200, "The archive", ArchiveSchema),), errors=(400, 404, 503)),
    Route("POST", "/api/v1/archives/search", "search_archives", access.ARCHIVE_SEARCH, search_archives,
          summary="Find archives of your jurisdiction by archive number (or village prefix), ID number, "
                  "居民健康卡号, name or pinyin prefix, birth date, village, institution, status, 常住类型 or 民族; "
                  "paged in name (pinyin) order "
                  "for a name (pinyin) search, else in archive-number order",
          description="A POST, so that ID numbers and names never appear in URLs or access logs.",
          body=Body(SearchRequestSchema, passthrough=True),
          answers=(Answer(200, "One page", ArchivePageSchema),), errors=(400, 503)),
    Route("PATCH", "/api/v1/archives/<string:archive_no>", "update_identity", access.ARCHIVE_UPDATE,
          update_identity,
          summary="Correct the resident's identity (name, sex, birth date, ID document, phone, cards) or the "
                  "cover (常住类型, 民族, addresses, 责任医生, 建档日期, consent, employer, contact), with the reason",
          description="`responsible_doctor` must be a clinician of the archive's managing institution (400).",
          body=Body(IdentityUpdateSchema, passthrough=True),
          answers=(Answer(200, "Corrected", registry_contracts.ArchiveDetailSchema),), errors=(400, 404, 409, 422, 503)),
    Route("POST", "/api/v1/archives/<string:archive_no>/id-number", "attach_id_number", access.ARCHIVE_ID_ATTACH,
          attach_id_number,
          summary="Attach the ID number to an archive created without one (a newborn's): checked against "
                  "its sex and birth date; one another archive holds is a 409, as at creation",
          description="An archive that has an ID number answers 422: correct it with `PATCH` and a reason.",
          body=Body(registry_contracts.IdNumberAttachmentSchema, passthrough=True),
          answers=(Answer(200, "Attached", registry_contracts.ArchiveDetailSchema),), errors=(400, 404, 409, 422, 503)),
    Route("GET", "/api/v1/archives/<string:archive_no>/revisions", "list_revisions", access.REVISIONS_LIST,
          lambda c: c.registry.list_revisions(c.archive["archive_no"]),
          summary="Every change to the archive: who, when, what, why (oldest first)",
          answers=(Answer(200, "The revisions", registry_contracts.ArchiveRevisionSchema, many=True),),
          errors=(400, 404, 503)),
    Route("GET", "/api/v1/archives/<string:archive_no>/possible-duplicates", "possible_duplicates",
          access.DUPLICATES_REVIEW,
          lambda c: c.registry.possible_duplicates(c.archive["archive_no"], scope=c.gate.scope()),
          summary="Active archives of your jurisdiction that may be the same person (same name, sex and birth "
                  "date; a same-sounding name with the same birth date or phone; never a phone alone), "
                  "for review before a merge",
          answers=(Answer(200, "The candidates", registry_contracts.PossibleDuplicatesSchema),), errors=(400, 404, 503)),
    Route("POST", "/api/v1/archives/<string:archive_no>/access", "grant_access", access.ACCESS_GRANT, grant_access,
          summary="State why you need an archive outside your scope: it opens to you for a limited time, "
                  "and every look is flagged in the audit trail with the reason",
          description="A grant opens reading the archive and entering the record of the care given, nothing "
                      "else: identity corrections, amending records, termination, reactivation, transfers and "
                      "duplicate review need the archive in your own scope (403 under a grant). At most "
                      "`EHR_GRANT_DAILY_LIMIT` grants a user in any 24 hours (429). The archive's owners are "
                      "told: event `gateway.access_granted`, and `GET /api/v1/grants`.",
          body=Body(AccessGrantRequestSchema),
          answers=(Answer(201, "Granted until `expires_at`", AccessGrantSchema),
                   Answer(200, "In your scope already: no grant needed", AccessGrantSchema)),
          errors=(400, 404, 429, 503)),
    Route("GET", "/api/v1/grants", "list_grants", access.GRANTS_LIST,
          lambda c: GrantPageSchema().dump(c.gate.grants(**c.query)),
          summary="Grants others took on archives of your jurisdiction (break-the-glass review), newest first, "
                  "paged (supervisors, institution administrators, archive managers)",
          query=GrantQuery, answers=(Answer(200, "One page", GrantPageSchema),), errors=(400, 503)),
)
