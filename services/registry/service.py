"""Nameko entrypoints of the registry: the master resident index and archive numbers.

RPC (service `registry`), each answering JSON-ready dicts:

    create_archive({"name": "张秀英", "sex": "2", "birth_date": "1949-12-31", "id_type": "01",
                    "id_number": "11010519491231002X", "village_code": "110105003001",
                    "institution_code": "C1101050031"})
        -> {"archive_no": "11010500300100001", "id_number_masked": "110105********002X", ...}
    get_archive("11010500300100001")
    resolve_identities([{"id_type": "01", "id_number": "11010519491231002X"}])
        -> [{"archive_no": "11010500300100001", "status": "active", "village_code": "110105003001"}]
    resolve({"id_type": "01", "id_number": "11010519491231002X", "name": "张秀英", "sex": "2",
             "birth_date": "1949-12-31", "phone": "13800000000"})
        -> {"status": "matched", "archive_no": "11010500300100001", "score": 1.0,
            "reasons": ["id_number"], "archive_status": "active"}
           | {"status": "candidates", "candidates": [{"archive_no": ..., "score": 0.65,
              "reasons": ["name_pinyin", "birth_date", "sex"], "archive_status": "active"}]}
           | {"status": "none"}
    resolve_many([query, ...]) -> [answer, ...]    (at most 100, in order)
    search_archives({"pinyin": "zhangxiu", "village_code": "110105101101"}, limit=50, cursor=None)
        -> {"items": [archive, ...], "next": "MTEwMTA1..." | None}
    list_divisions(level="village"), list_institutions(), health()

Events (exchange `ehr.events`, via the outbox): `registry.archive_created`.
"""

from __future__ import annotations

from nameko.rpc import rpc

from shared.actor import CurrentActor
from shared.contracts import load_input
from shared.db import Database, ping
from shared.errors import EXPECTED_ERRORS
from shared.outbox import OutboxRelay
from shared.pii import Pii

from services.registry import matching, search, usecases
from services.registry.schemas import (
    ArchivePageSchema, ArchiveSearchSchema, IdentityQuerySchema, ResolutionSchema, ResolveQuerySchema,
)
from shared.api import ArchiveCreateSchema, ArchiveSchema, DivisionSchema, InstitutionSchema


class RegistryService:
    name = "registry"

    db = Database("registry")
    pii = Pii()
    actor = CurrentActor()
    relay = OutboxRelay("registry")

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("payload",))
    def create_archive(self, payload):
        data = load_input(ArchiveCreateSchema(), payload)
        archive = usecases.create_archive(self.db, self.pii, data, self.actor)
        self.relay()
        return ArchiveSchema().dump(archive)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_archive(self, archive_no):
        return ArchiveSchema().dump(usecases.get_archive(self.db, archive_no))

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("queries",))
    def resolve_identities(self, queries):
        return usecases.resolve_identities(self.db, self.pii, load_input(IdentityQuerySchema(), queries, many=True))

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("query",))
    def resolve(self, query):
        answer = matching.resolve(self.db, self.pii, load_input(ResolveQuerySchema(), query))
        return ResolutionSchema().dump(answer)

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("queries",))
    def resolve_many(self, queries):
        answers = matching.resolve_batch(self.db, self.pii, load_input(ResolveQuerySchema(), queries, many=True))
        return ResolutionSchema(many=True).dump(answers)

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("filters",))
    def search_archives(self, filters, limit=50, cursor=None):
        filters = load_input(ArchiveSearchSchema(), filters)
        return ArchivePageSchema().dump(search.search_archives(self.db, self.pii, filters, limit, cursor))

    @rpc
    def list_divisions(self, level=None):
        return DivisionSchema(many=True).dump(usecases.list_divisions(self.db, level))

    @rpc
    def list_institutions(self):
        return InstitutionSchema(many=True).dump(usecases.list_institutions(self.db))

    @rpc
    def health(self):
        return ping(self.db)
