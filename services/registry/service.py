"""Nameko entrypoints of the registry: the master resident index and archive numbers.

RPC (service `registry`), each answering JSON-ready dicts:

    create_archive({"name": "张秀英", "sex": "2", "birth_date": "1949-12-31", "id_type": "01",
                    "id_number": "11010519491231002X", "village_code": "110105003001",
                    "institution_code": "C1101050031"},
                   scope={"prefix": "110105003", "institution_code": "C1101050031"})
        -> {"archive_no": "11010500300100001", "id_number_masked": "**************002X", ...}
        (an ID number or card held outside `scope`: RegisteredElsewhere, naming no archive)
    get_archive("11010500300100001")
    resolve_identities([{"id_type": "01", "id_number": "11010519491231002X"}])
        -> [{"archive_no": "11010500300100001", "status": "active", "village_code": "110105003001"}]
        (reads only; the filing path's lookup)
    learn_medical_record_numbers([{"id_type": "01", "id_number": "11010519491231002X", "mrn": "MZ0012345",
                                   "institution_code": "H1101050001"}])
        -> [{"status": "linked", "archive_no": "11010500300100001", "kind": "mrn", ...}]
        (after filing: the MRNs of ID-number matches; see `learning`)
    resolve({"id_type": "01", "id_number": "11010519491231002X", "name": "张秀英", "sex": "2",
             "birth_date": "1949-12-31", "phone": "13800000000"})
        -> {"status": "matched", "archive_no": "11010500300100001", "score": 1.0,
            "reasons": ["id_number"], "archive_status": "active"}
           | {"status": "candidates", "candidates": [{"archive_no": ..., "score": 0.65,
              "reasons": ["name_pinyin", "birth_date", "sex"], "archive_status": "active"}]}
           | {"status": "none"}
    resolve_many([query, ...]) -> [answer, ...]    (at most 100, in order)
    search_archives({"pinyin": "zhangxiu", "village_code": "110105101101"}, limit=50, cursor=None,
                    scope={"prefix": "110105101", "institution_code": "T1101051011"})
        -> {"items": [archive, ...], "next": "MTEwMTA1..." | None}     (scope: see `review`)
    count_archives("110105101") -> [{"village_code": "110105101101", "status": "active", "archives": 1832}]
    possible_duplicates("11010510110100007", scope=None)
        -> {"archive_no": "11010510110100007", "possible_duplicates": [{"archive_no": ..., "score": 0.75,
            "reasons": ["name", "birth_date", "sex"]}]}
    list_divisions(level="village"), list_institutions(), health()

Other identifiers (see `identifiers`; card numbers are given with `create_archive` and
`update_identity`, MRNs are learned from ID-number matches by `resolve` / `resolve_many` and, when
records asks after filing, by `learn_medical_record_numbers`, and by `link_identifier` from an
operator's match):

    link_identifier("11010510110100007", "mrn", "MZ0012345", "H1101050001", source="learned_from_match")
        -> {"status": "linked" | "already_linked" | "conflict", "archive_no": "11010510110100007",
            "kind": "mrn", "issuer": "H1101050001", "value_masked": "MZ***2345", "held_by": null, ...}
    list_identifiers("11010510110100007")
        -> [{"kind": "health_card", "issuer": null, "value_masked": "H1******0012", "source": "entered", ...}]

The archive lifecycle (see `lifecycle`; each change answers the archive as `get_archive` does,
writes a revision and announces an event):

    get_archive("11010510110100007")
        -> {..., "status": "terminated", "termination": {"reason": "death", ...}, "merged_into": null,
            "former_archive_nos": [], "merged_archive_nos": []}     (a former or merged number
            answers the archive it leads to)
    list_revisions("11010510110100007") -> [{"revision": 1, "action": "created", ...}, ...]
    update_identity("11010510110100007", {"name": "张秀瑛", "phone": "13900000000"}, reason="核对户口本",
                    scope=None)
    terminate_archive("11010510110100007", {"reason": "death", "date": "2026-11-20", "cause": "脑梗死"})
    reactivate_archive("11010510110100007", "居民返回本村居住")
    request_transfer("11010510110100007", {"to_village_code": "110105201101",
                     "to_institution_code": "T1101052011", "reason": "迁居东窑村"}) -> transfer
    accept_transfer(7) -> {"transfer": transfer, "archive": archive}
    reject_transfer(7, "本村无此居民") / cancel_transfer(7, "申请有误") -> transfer
    get_transfer(7), list_transfers(archive_no=None, to_institution_code="T1101052011", status="requested")
    merge_archives("11010510110100003", "11010510110100007", "同一居民重复建档") -> merge
    unmerge_archives(42, "并非同一人", scope=None) -> merge
    get_merge(42), list_merges("11010510110100003")

Events (exchange `ehr.events`, via the outbox; payloads in `lifecycle`): `registry.archive_created`,
`registry.identity_updated`, `registry.archive_terminated`, `registry.archive_reactivated`,
`registry.archive_transferred`, `registry.archives_merged`, `registry.archives_unmerged`.
"""

from __future__ import annotations


from shared.actor import CurrentActor
from shared.contracts import load_input
from shared.db import Database, ping
from shared.errors import EXPECTED_ERRORS
from shared.outbox import OutboxRelay
from shared.pii import Pii
from shared.rpc import rpc

from services.registry import (
    identifiers, identity_updates, learning, matching, merges, review, revisions, search, termination,
    transfers, usecases,
)
from services.registry.lifecycle_schemas import (
    ArchiveDetailSchema, ArchiveRevisionSchema, IdentityUpdateSchema, MergeRequestSchema, MergeSchema,
    OptionalReasonSchema, ReasonSchema, TerminationSchema, TransferRequestSchema, TransferSchema, load_id,
)
from services.registry.schemas import (
    ArchivePageSchema, ArchiveSearchSchema, IdentifierSchema, IdentityQuerySchema, LinkIdentifierSchema,
    LinkOutcomeSchema, ResolutionSchema, ResolveQuerySchema,
)
from shared.api import ArchiveCreateSchema, ArchiveSchema, DivisionSchema, InstitutionSchema

# Every gateway request reads an archive; a schema's construction costs about as much as its dump.
_ARCHIVE_DETAIL = ArchiveDetailSchema()


def _scope(scope):
    """The caller's jurisdiction, as the gateway passes it (`review.ScopeSchema`); None: anywhere."""
    return None if scope is None else load_input(review.ScopeSchema(), scope)


class RegistryService:
    name = "registry"

    # A connection for each of nameko's 10 workers: with make_engine's 5 (and 5 overflow, closed
    # when returned) every read past the fifth concurrent one opened a new PostgreSQL connection.
    db = Database("registry", pool_size=10)
    pii = Pii()
    actor = CurrentActor()
    relay = OutboxRelay("registry")

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("payload",))
    def create_archive(self, payload, scope=None):
        data = load_input(ArchiveCreateSchema(), payload)
        archive = usecases.create_archive(self.db, self.pii, data, self.actor, _scope(scope))
        self.relay()
        return ArchiveSchema().dump(usecases.archive_values(self.pii, archive))

    def _details(self, archive):
        return _ARCHIVE_DETAIL.dump(usecases.archive_details(self.db, self.pii, archive))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_archive(self, archive_no):
        return _ARCHIVE_DETAIL.dump(usecases.archive_view(self.db, self.pii, archive_no))

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("queries",))
    def resolve_identities(self, queries):
        return usecases.resolve_identities(self.db, self.pii, load_input(IdentityQuerySchema(), queries, many=True))

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("queries",))
    def learn_medical_record_numbers(self, queries):
        queries = load_input(IdentityQuerySchema(), queries, many=True)
        return LinkOutcomeSchema(many=True).dump(learning.learn_medical_record_numbers(self.db, self.pii, queries))

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("query",))
    def resolve(self, query):
        answer = matching.resolve(self.db, self.pii, load_input(ResolveQuerySchema(), query))
        return ResolutionSchema().dump(answer)

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("queries",))
    def resolve_many(self, queries):
        answers = matching.resolve_batch(self.db, self.pii, load_input(ResolveQuerySchema(), queries, many=True))
        return ResolutionSchema(many=True).dump(answers)

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("filters",))
    def search_archives(self, filters, limit=50, cursor=None, scope=None):
        filters = load_input(ArchiveSearchSchema(), filters)
        return ArchivePageSchema().dump(search.search_archives(self.db, self.pii, filters, limit, cursor,
                                                               _scope(scope)))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def count_archives(self, prefix):
        return review.count_archives(self.db, load_input(review.PrefixSchema(), {"prefix": prefix})["prefix"])

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def possible_duplicates(self, archive_no, scope=None):
        return review.possible_duplicates_of(self.db, self.pii, archive_no, _scope(scope))

    # -- lifecycle ---------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_revisions(self, archive_no):
        return ArchiveRevisionSchema(many=True).dump(revisions.list_revisions(self.db, archive_no))

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("changes",))
    def update_identity(self, archive_no, changes, reason=None, scope=None):
        data = load_input(IdentityUpdateSchema(), changes)
        reason = load_input(OptionalReasonSchema(), {"reason": reason})["reason"]
        archive = identity_updates.update_identity(self.db, self.pii, archive_no, data, reason, self.actor,
                                                   _scope(scope))
        self.relay()
        return self._details(archive)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def terminate_archive(self, archive_no, payload):
        data = load_input(TerminationSchema(), payload)
        archive = termination.terminate_archive(self.db, archive_no, data, self.actor)
        self.relay()
        return self._details(archive)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def reactivate_archive(self, archive_no, reason):
        reason = load_input(ReasonSchema(), {"reason": reason})["reason"]
        archive = termination.reactivate_archive(self.db, archive_no, reason, self.actor)
        self.relay()
        return self._details(archive)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def request_transfer(self, archive_no, payload):
        data = load_input(TransferRequestSchema(), payload)
        return TransferSchema().dump(transfers.request_transfer(self.db, archive_no, data, self.actor))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def accept_transfer(self, transfer_id):
        transfer_id = load_id(transfer_id, "transfer_id")
        transfer, archive = transfers.accept_transfer(self.db, self.pii, transfer_id, self.actor)
        self.relay()
        return {"transfer": TransferSchema().dump(transfer), "archive": self._details(archive)}

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def reject_transfer(self, transfer_id, reason):
        reason = load_input(ReasonSchema(), {"reason": reason})["reason"]
        transfer = transfers.reject_transfer(self.db, load_id(transfer_id, "transfer_id"), reason, self.actor)
        return TransferSchema().dump(transfer)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def cancel_transfer(self, transfer_id, reason=None):
        reason = load_input(OptionalReasonSchema(), {"reason": reason})["reason"]
        transfer = transfers.cancel_transfer(self.db, load_id(transfer_id, "transfer_id"), reason, self.actor)
        return TransferSchema().dump(transfer)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_transfer(self, transfer_id):
        return TransferSchema().dump(transfers.get_transfer(self.db, load_id(transfer_id, "transfer_id")))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_transfers(self, archive_no=None, to_institution_code=None, status=None, limit=50):
        found = transfers.list_transfers(self.db, archive_no, to_institution_code, status, limit)
        return TransferSchema(many=True).dump(found)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def merge_archives(self, surviving_archive_no, merged_archive_no, reason):
        data = load_input(MergeRequestSchema(), {"surviving_archive_no": surviving_archive_no,
                                                 "merged_archive_no": merged_archive_no, "reason": reason})
        merge = merges.merge_archives(self.db, self.pii, data["surviving_archive_no"], data["merged_archive_no"],
                                      data["reason"], self.actor)
        self.relay()
        return MergeSchema().dump(merge)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def unmerge_archives(self, merge_id, reason, scope=None):
        reason = load_input(ReasonSchema(), {"reason": reason})["reason"]
        merge = merges.unmerge_archives(self.db, load_id(merge_id, "merge_id"), reason, self.actor, _scope(scope))
        self.relay()
        return MergeSchema().dump(merge)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_merge(self, merge_id):
        return MergeSchema().dump(merges.get_merge(self.db, load_id(merge_id, "merge_id")))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_merges(self, archive_no):
        return MergeSchema(many=True).dump(merges.list_merges(self.db, archive_no))

    # -- other identifiers ---------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("value",))
    def link_identifier(self, archive_no, kind, value, issuer, source="learned_from_match"):
        data = load_input(LinkIdentifierSchema(), {"archive_no": archive_no, "kind": kind, "value": value,
                                                   "issuer": issuer, "source": source})
        outcome = identifiers.link_identifier(self.db, self.pii, data["archive_no"], data["kind"], data["value"],
                                              data["issuer"], self.actor, data["source"])
        return LinkOutcomeSchema().dump(outcome)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_identifiers(self, archive_no):
        return IdentifierSchema(many=True).dump(identifiers.list_identifiers(self.db, archive_no))

    # -- reference data ------------------------------------------------------------------------

    @rpc
    def list_divisions(self, level=None):
        return DivisionSchema(many=True).dump(usecases.list_divisions(self.db, level))

    @rpc
    def list_institutions(self):
        return InstitutionSchema(many=True).dump(usecases.list_institutions(self.db))

    @rpc
    def health(self):
        return ping(self.db)
