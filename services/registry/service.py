"""Nameko entrypoints of the registry: the master resident index and archive numbers.

RPC (service `registry`), each answering JSON-ready dicts:

    create_archive({"name": "张秀英", "sex": "2", "birth_date": "1949-12-31", "id_type": "01",
                    "id_number": "11010519491231002X", "village_code": "110105003001",
                    "institution_code": "C1101050031"},
                   scope={"prefix": "110105003", "institution_code": "C1101050031"})
        -> {"archive_no": "11010500300100001", "id_number_masked": "**************002X", ...}
        (an ID number or card held outside `scope`: RegisteredElsewhere, naming no archive)
    get_archive("11010500300100001")
    identity_for_document("11010500300100001", proof)   (the sync service only: `proof` made with
        EHR_SYNC_KEY, `shared.signing.document_identity_proof`; the full ID number, for a document)
    identities_for_documents(["11010500300100001", ...], proof)   (the same for up to 500 archives,
        `shared.signing.documents_identity_proof`) -> {"identities": {number: answer}, "missing": [...]}
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
    archives_by_numbers(["11010510110100007", "11010510110100012"], scope={"prefix": "110105101", ...})
        -> [archive, ...]     (those of the numbers that are archives inside the scope, in the order
                               asked; a former or merged number is not followed: a work list's
                               numbers are current)
    count_archives("110105101") -> [{"village_code": "110105101101", "status": "active", "archives": 1832}]
    possible_duplicates("11010510110100007", scope=None)
        -> {"archive_no": "11010510110100007", "possible_duplicates": [{"archive_no": ..., "score": 0.75,
            "reasons": ["name", "birth_date", "sex"]}]}
    list_divisions(level="village"), list_institutions(), health()

The 居民健康档案信息卡 (see `cards`; the number on the card, or any leading to the archive):

    issue_card("11010510110100007") -> {"issue_no": 1, "printed_archive_no": "11010510110100007", ...}
    issue_card("11010510110100007", reason="卡片遗失") -> {"issue_no": 2, "reason": "卡片遗失", ...}
    get_card("11010510110100007") -> {"name": "张秀英", "phone": ..., "issues": [...], "reissue_needed": false}

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
    attach_id_number("11010500300100042", {"id_type": "01", "id_number": "110105202611180017"}, scope=None)
        (a newborn's archive, created without one: the same 409 as a creation if another holds it)
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


from shared.signing import Refused, check_document_identity_proof, check_documents_identity_proof
from shared.transport.providers import CurrentActor, Database, Pii, SyncKey
from shared.contracts.fields import load_input
from shared.contracts.registry import RPC, OptionalReasonSchema, ScopeSchema
from shared.db import ping
from shared.errors import EXPECTED_ERRORS
from shared.transport.outbox import OutboxRelay
from shared.transport.rpc import CallRefused, rpc

from services.registry import (
    cards, document_identity, id_numbers, identifiers, identity_updates, learning, matching, merges, review, revisions, search,
    termination, transfers, usecases,
)

_SCOPE, _OPTIONAL_REASON = ScopeSchema(), OptionalReasonSchema()


def _scope(scope):
    """The caller's jurisdiction, as the gateway passes it (`ScopeSchema`); None: anywhere."""
    return None if scope is None else load_input(_SCOPE, scope)


class RegistryService:
    name = "registry"

    # A connection for each of nameko's 10 workers: with make_engine's 5 (and 5 overflow, closed
    # when returned) every read past the fifth concurrent one opened a new PostgreSQL connection.
    db = Database("registry", pool_size=10)
    pii = Pii()
    actor = CurrentActor()
    relay = OutboxRelay("registry")
    sync_key = SyncKey()

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("payload",))
    def create_archive(self, payload, scope=None):
        call = RPC["create_archive"]
        archive = usecases.create_archive(self.db, self.pii, call.load(payload), self.actor, _scope(scope))
        self.relay()
        return call.dump(usecases.archive_values(self.pii, archive))

    def _details(self, archive):
        return RPC["get_archive"].dump(usecases.archive_details(self.db, self.pii, archive))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_archive(self, archive_no):
        call = RPC["get_archive"]
        data = call.load({"archive_no": archive_no})
        return call.dump(usecases.archive_view(self.db, self.pii, data["archive_no"]))

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("proof",))
    def identity_for_document(self, archive_no, proof):
        """The sync service's read of a resident's full identity (see `document_identity`);
        CallRefused unless `proof` was made with EHR_SYNC_KEY for this archive number."""
        call = RPC["identity_for_document"]
        data = call.load({"archive_no": archive_no, "proof": proof})
        try:
            check_document_identity_proof(self.sync_key, data["archive_no"], data["proof"])
        except Refused as exc:
            raise CallRefused(f"identity_for_document refused: {exc}") from None
        return call.dump(document_identity.document_identity(self.db, self.pii, data["archive_no"]))

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("proof",))
    def identities_for_documents(self, archive_nos, proof):
        """`identity_for_document` for a batch (the sync sender's); CallRefused unless `proof` was
        made with EHR_SYNC_KEY for exactly these numbers."""
        call = RPC["identities_for_documents"]
        data = call.load({"archive_nos": archive_nos, "proof": proof})
        try:
            check_documents_identity_proof(self.sync_key, data["archive_nos"], data["proof"])
        except Refused as exc:
            raise CallRefused(f"identities_for_documents refused: {exc}") from None
        return call.dump(document_identity.identities_for_documents(self.db, self.pii, data["archive_nos"]))

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("queries",))
    def resolve_identities(self, queries):
        call = RPC["resolve_identities"]
        found = usecases.resolve_identities(self.db, self.pii, call.load(queries, many=True))
        return [None if answer is None else call.dump(answer) for answer in found]

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("queries",))
    def learn_medical_record_numbers(self, queries):
        call = RPC["learn_medical_record_numbers"]
        return call.dump(learning.learn_medical_record_numbers(self.db, self.pii, call.load(queries, many=True)), many=True)

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("query",))
    def resolve(self, query):
        call = RPC["resolve"]
        return call.dump(matching.resolve(self.db, self.pii, call.load(query)))

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("queries",))
    def resolve_many(self, queries):
        call = RPC["resolve_many"]
        return call.dump(matching.resolve_batch(self.db, self.pii, call.load(queries, many=True)), many=True)

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("filters",))
    def search_archives(self, filters, limit=50, cursor=None, scope=None):
        call = RPC["search_archives"]
        return call.dump(search.search_archives(self.db, self.pii, call.load(filters), limit, cursor, _scope(scope)))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def archives_by_numbers(self, archive_nos, scope=None):
        call = RPC["archives_by_numbers"]
        numbers = call.load({"archive_nos": archive_nos})["archive_nos"]
        return call.dump(search.archives_by_numbers(self.db, self.pii, numbers, _scope(scope)), many=True)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def count_archives(self, prefix):
        call = RPC["count_archives"]
        return call.dump(review.count_archives(self.db, call.load({"prefix": prefix})["prefix"]), many=True)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def archive_months(self, prefix):
        call = RPC["archive_months"]
        return call.dump(review.archive_months(self.db, call.load({"prefix": prefix})["prefix"]), many=True)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def possible_duplicates(self, archive_no, scope=None):
        call = RPC["possible_duplicates"]
        data = call.load({"archive_no": archive_no})
        return call.dump(review.possible_duplicates_of(self.db, self.pii, data["archive_no"], _scope(scope)))

    # -- lifecycle ---------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_revisions(self, archive_no):
        call = RPC["list_revisions"]
        data = call.load({"archive_no": archive_no})
        return call.dump(revisions.list_revisions(self.db, data["archive_no"]), many=True)

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("changes",))
    def update_identity(self, archive_no, changes, reason=None, scope=None):
        call = RPC["update_identity"]
        data = call.load(changes)
        reason = load_input(_OPTIONAL_REASON, {"reason": reason})["reason"]
        archive = identity_updates.update_identity(self.db, self.pii, archive_no, data, reason, self.actor,
                                                   _scope(scope))
        self.relay()
        return self._details(archive)

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("payload",))
    def attach_id_number(self, archive_no, payload, scope=None):
        data = RPC["attach_id_number"].load(payload)
        archive = id_numbers.attach_id_number(self.db, self.pii, archive_no, data, self.actor, _scope(scope))
        self.relay()
        return self._details(archive)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def terminate_archive(self, archive_no, payload):
        data = RPC["terminate_archive"].load(payload)
        archive = termination.terminate_archive(self.db, archive_no, data, self.actor)
        self.relay()
        return self._details(archive)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def reactivate_archive(self, archive_no, reason):
        reason = RPC["reactivate_archive"].load({"reason": reason})["reason"]
        archive = termination.reactivate_archive(self.db, archive_no, reason, self.actor)
        self.relay()
        return self._details(archive)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def request_transfer(self, archive_no, payload):
        call = RPC["request_transfer"]
        return call.dump(transfers.request_transfer(self.db, archive_no, call.load(payload), self.actor))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def accept_transfer(self, transfer_id):
        call = RPC["accept_transfer"]
        data = call.load({"transfer_id": transfer_id})
        transfer, archive = transfers.accept_transfer(self.db, self.pii, data["transfer_id"], self.actor)
        self.relay()
        return call.dump({"transfer": transfer, "archive": usecases.archive_details(self.db, self.pii, archive)})

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def reject_transfer(self, transfer_id, reason):
        call = RPC["reject_transfer"]
        data = call.load({"transfer_id": transfer_id, "reason": reason})
        return call.dump(transfers.reject_transfer(self.db, data["transfer_id"], data["reason"], self.actor))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def cancel_transfer(self, transfer_id, reason=None):
        call = RPC["cancel_transfer"]
        data = call.load({"transfer_id": transfer_id, "reason": reason})
        return call.dump(transfers.cancel_transfer(self.db, data["transfer_id"], data["reason"], self.actor))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_transfer(self, transfer_id):
        call = RPC["get_transfer"]
        return call.dump(transfers.get_transfer(self.db, call.load({"transfer_id": transfer_id})["transfer_id"]))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_transfers(self, archive_no=None, to_institution_code=None, status=None, limit=50):
        call = RPC["list_transfers"]
        data = call.load({"archive_no": archive_no, "to_institution_code": to_institution_code, "status": status,
                          "limit": limit})
        return call.dump(transfers.list_transfers(self.db, **data), many=True)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def merge_archives(self, surviving_archive_no, merged_archive_no, reason):
        call = RPC["merge_archives"]
        data = call.load({"surviving_archive_no": surviving_archive_no, "merged_archive_no": merged_archive_no,
                          "reason": reason})
        merge = merges.merge_archives(self.db, self.pii, data["surviving_archive_no"], data["merged_archive_no"],
                                      data["reason"], self.actor)
        self.relay()
        return call.dump(merge)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def unmerge_archives(self, merge_id, reason, scope=None):
        call = RPC["unmerge_archives"]
        data = call.load({"merge_id": merge_id, "reason": reason})
        merge = merges.unmerge_archives(self.db, data["merge_id"], data["reason"], self.actor, _scope(scope))
        self.relay()
        return call.dump(merge)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_merge(self, merge_id):
        call = RPC["get_merge"]
        return call.dump(merges.get_merge(self.db, call.load({"merge_id": merge_id})["merge_id"]))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_merges(self, archive_no):
        call = RPC["list_merges"]
        return call.dump(merges.list_merges(self.db, call.load({"archive_no": archive_no})["archive_no"]), many=True)

    # -- other identifiers ---------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("value",))
    def link_identifier(self, archive_no, kind, value, issuer, source="learned_from_match"):
        call = RPC["link_identifier"]
        data = call.load({"archive_no": archive_no, "kind": kind, "value": value, "issuer": issuer, "source": source})
        outcome = identifiers.link_identifier(self.db, self.pii, data["archive_no"], data["kind"], data["value"],
                                              data["issuer"], self.actor, data["source"])
        return call.dump(outcome)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_identifiers(self, archive_no):
        call = RPC["list_identifiers"]
        data = call.load({"archive_no": archive_no})
        return call.dump(identifiers.list_identifiers(self.db, data["archive_no"]), many=True)

    # -- reference data ------------------------------------------------------------------------

    # -- the 居民健康档案信息卡 ------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def issue_card(self, archive_no, reason=None):
        call = RPC["issue_card"]
        data = call.load({"archive_no": archive_no, "reason": reason})
        return call.dump(cards.issue_card(self.db, data["archive_no"], data["reason"], self.actor))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_card(self, archive_no):
        call = RPC["get_card"]
        return call.dump(cards.card(self.db, self.pii, call.load({"archive_no": archive_no})["archive_no"]))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_divisions(self, level=None):
        call = RPC["list_divisions"]
        return call.dump(usecases.list_divisions(self.db, call.load({"level": level})["level"]), many=True)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_institutions(self):
        call = RPC["list_institutions"]
        call.load({})
        return call.dump(usecases.list_institutions(self.db), many=True)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def health(self):
        call = RPC["health"]
        call.load({})
        return call.dump(ping(self.db))
