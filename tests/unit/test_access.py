"""The gateway's plain rules: roles, scope, grants, tokens, passwords, the audit hash, the docs page."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from services.gateway import access, credentials
from services.gateway.access import Forbidden

COUNTY = {"code": "G1101050001", "kind": "health_commission", "division_code": "110105"}
TOWNSHIP = {"code": "T1101051011", "kind": "township_centre", "division_code": "110105101"}
COMMUNITY = {"code": "C1101050031", "kind": "community_centre", "division_code": "110105003"}
VILLAGE = {"code": "V1101051011", "kind": "village_clinic", "division_code": "110105101101"}
HOSPITAL = {"code": "H1101050002", "kind": "hospital", "division_code": "110105"}


def archive(village: str, manager: str = "T1101051011") -> dict:
    return {"archive_no": village + "00001", "village_code": village, "institution_code": manager}


@pytest.mark.parametrize("institution,expected", [
    (COUNTY, "110105"), (TOWNSHIP, "110105101"), (COMMUNITY, "110105003"), (VILLAGE, "110105101101"),
    (HOSPITAL, None), (None, None), ({"code": "X", "kind": "pharmacy", "division_code": "110105"}, None),
])
def test_jurisdiction_follows_the_administrative_hierarchy(institution, expected):
    assert access.jurisdiction(institution) == expected


def test_a_township_centre_sees_its_villages_and_the_archives_it_manages():
    assert access.archive_in_scope(TOWNSHIP, archive("110105101102"))
    assert not access.archive_in_scope(TOWNSHIP, archive("110105201101", manager="T1101052011"))
    # managed by it although the resident lives elsewhere (e.g. after a move it has not yet passed on)
    assert access.archive_in_scope(TOWNSHIP, archive("110105201101", manager="T1101051011"))


def test_a_village_clinic_sees_its_own_village_only():
    assert access.archive_in_scope(VILLAGE, archive("110105101101"))
    assert not access.archive_in_scope(VILLAGE, archive("110105101102"))


def test_a_hospital_has_no_archives_in_scope():
    assert not access.archive_in_scope(HOSPITAL, archive("110105101101", manager="T1101051011"))


def test_out_of_scope_needs_a_grant_except_to_ask_for_one():
    out = archive("110105201101", manager="T1101052011")
    assert access.decide_archive(access.ARCHIVE_READ, VILLAGE, out, has_grant=False) == \
        access.ArchiveDecision(allowed=False, out_of_scope=True)
    assert access.decide_archive(access.RECORD_CREATE, VILLAGE, out, has_grant=True) == \
        access.ArchiveDecision(allowed=True, out_of_scope=True)
    assert access.decide_archive(access.ACCESS_GRANT, VILLAGE, out, has_grant=False).allowed
    assert access.decide_archive(access.ARCHIVE_READ, VILLAGE, archive("110105101101"), has_grant=False) == \
        access.ArchiveDecision(allowed=True, out_of_scope=False)


def test_supervisors_and_administrators_get_figures_not_archives():
    for role in (access.SUPERVISOR, access.INSTITUTION_ADMIN):
        assert access.permits(role, access.STATS_READ)
        assert not any(access.permits(role, a) for a in (*access.ARCHIVE_READS, *access.CLINICAL_WRITES,
                                                         access.ARCHIVE_CREATE, access.ACCESS_GRANT))


def test_operators_propose_links_and_only_keepers_of_the_register_link_pending_encounters():
    assert access.permits(access.SYSTEM_OPERATOR, access.PENDING_PROPOSE)
    assert not access.permits(access.SYSTEM_OPERATOR, access.PENDING_LINK)
    assert not access.permits(access.SYSTEM_OPERATOR, access.REVIEW_CLEAR)
    for role in (access.TOWNSHIP_DOCTOR, access.ARCHIVE_MANAGER):
        assert access.permits(role, access.PENDING_LINK) and access.permits(role, access.PENDING_PROPOSALS)
        assert access.permits(role, access.REVIEW_CLEAR) and not access.permits(role, access.PENDING_PROPOSE)
    assert not access.permits(access.VILLAGE_DOCTOR, access.PENDING_LINK)
    assert not access.permits(access.TOWNSHIP_SYSTEM, access.PENDING_LINK)
    assert all(access.permits(r, access.REVIEWS_LIST) for r in (access.VILLAGE_DOCTOR, access.SYSTEM_OPERATOR))


def test_operators_get_quarantine_and_pending_and_no_clinical_content():
    assert all(access.permits(access.SYSTEM_OPERATOR, a) for a in access.OPERATIONS)
    assert not any(access.permits(access.SYSTEM_OPERATOR, a) for a in (*access.ARCHIVE_READS, access.STATS_READ))
    with pytest.raises(Forbidden):
        access.require(access.SYSTEM_OPERATOR, access.ARCHIVE_READ)


def test_system_clients_never_write_clinical_records_and_hospitals_read_no_archives():
    assert access.permits(access.TOWNSHIP_SYSTEM, access.ARCHIVE_READ)
    assert not any(access.permits(access.TOWNSHIP_SYSTEM, a) for a in access.CLINICAL_WRITES)
    assert not access.permits(access.TOWNSHIP_SYSTEM, access.ACCESS_GRANT)
    assert access.PERMISSIONS[access.HOSPITAL_SYSTEM] == frozenset(access.REFERENCE)


def test_only_clinicians_write_and_unknown_roles_may_do_nothing():
    writers = {role for role in access.ROLES if access.permits(role, access.RECORD_CREATE)}
    assert writers == {access.VILLAGE_DOCTOR, access.TOWNSHIP_DOCTOR, access.ARCHIVE_MANAGER}
    assert not access.permits("root", access.VILLAGES_LIST) and not access.permits(None, access.VILLAGES_LIST)


def test_roles_fit_the_kinds_of_institution():
    assert access.role_fits_institution(access.VILLAGE_DOCTOR, "village_clinic")
    assert not access.role_fits_institution(access.VILLAGE_DOCTOR, "hospital")
    assert access.role_fits_institution(access.HOSPITAL_SYSTEM, "hospital")
    assert not access.role_fits_institution(access.TOWNSHIP_SYSTEM, "village_clinic")
    assert access.role_fits_institution(access.SYSTEM_OPERATOR, "health_commission")


def test_the_matrix_table_covers_every_role():
    table = access.matrix()
    assert set(table) == set(access.ROLES)
    assert table["supervisor"]["stats.read"] and not table["supervisor"]["archive.read"]


# -- credentials ---------------------------------------------------------------------------

KEY = b"k" * 32


def test_a_token_carries_its_user_until_it_expires():
    now = time.time()
    token = credentials.issue_token(KEY, "doc01", 900, now=now)
    assert credentials.read_token(KEY, token, now=now + 899)["sub"] == "doc01"
    with pytest.raises(credentials.InvalidToken) as expired:
        credentials.read_token(KEY, token, now=now + 900)
    assert (expired.value.reason, expired.value.subject) == ("expired_token", "doc01")


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + "AA", lambda t: t.replace(".", "", 1), lambda t: "x" + t, lambda t: t + "é", lambda t: "",
])
def test_a_mangled_token_is_refused(mangle):
    token = credentials.issue_token(KEY, "doc01", 900)
    with pytest.raises(credentials.InvalidToken):
        credentials.read_token(KEY, mangle(token))


def test_a_token_from_another_key_is_refused():
    with pytest.raises(credentials.InvalidToken, match="bad_signature"):
        credentials.read_token(KEY, credentials.issue_token(b"j" * 32, "doc01", 900))


def test_passwords_are_argon2id_and_weak_ones_are_named():
    hashed = credentials.hash_password("correct horse battery staple")
    assert hashed.startswith("$argon2id$")
    assert credentials.verify_password(hashed, "correct horse battery staple")
    assert not credentials.verify_password(hashed, "Correct horse battery staple")
    assert not credentials.verify_password("not a hash", "x")
    assert credentials.password_problems("short") == ["at least 12 characters"]
    assert credentials.password_problems("aaaaaaaaaaaaaa") == ["at least 5 different characters"]
    assert "must not contain the username" in credentials.password_problems("doc01-is-my-password", "doc01")
    assert credentials.password_problems("correct horse battery staple", "doc01") == []


def test_api_keys_are_random_and_stored_as_digests():
    key, digest = credentials.new_api_key()
    other, _ = credentials.new_api_key()
    assert key != other and credentials.is_api_key(key) and len(key) > 40
    assert digest == credentials.api_key_digest(key) and key not in digest


# -- audit hash and docs page --------------------------------------------------------------

def test_the_audit_hash_covers_every_field_and_the_previous_hash():
    from services.gateway.audit import _HASHED, entry_hash

    fields = {name: None for name in _HASHED} | {
        "seq": 1, "at": datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc), "actor": "doc01", "action": "archive.read",
        "out_of_scope": False, "outcome": "ok", "status": 200, "prev_hash": "0" * 64}
    digest = entry_hash(fields)
    for name, other in (("actor", "doc02"), ("status", 404), ("prev_hash", "1" * 64), ("out_of_scope", True)):
        assert entry_hash({**fields, name: other}) != digest
    assert entry_hash({**fields, "at": fields["at"].astimezone()}) == digest  # same instant, any zone


def test_reasons_are_stored_masked():
    from services.gateway.audit import clean_text

    assert clean_text("急诊 11010519491231002X 13800000000", 500) == "急诊 110105********002X 138****0000"
    assert len(clean_text("x" * 900, 500)) == 500


def test_the_docs_page_lists_every_operation_and_schema_without_scripts():
    from services.gateway.docs_page import render
    from services.gateway.openapi import build_spec

    spec = build_spec()
    page = render(spec)
    assert "<script" not in page and "http://" not in page and "https://" not in page
    for path in spec["paths"]:
        assert f"<code>{path}</code>" in page
    for name in spec["components"]["schemas"]:
        assert f'id="schema-{name}"' in page


def test_the_openapi_document_requires_a_bearer_token_except_on_public_operations():
    from services.gateway.openapi import build_spec

    spec = build_spec()
    assert spec["security"] == [{"bearer": []}]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    public = {(path, method) for path, ops in spec["paths"].items() for method, op in ops.items()
              if op.get("security") == []}
    assert public == {("/api/v1/auth/token", "post"), ("/api/v1/health", "get"), ("/api/v1/docs", "get")}
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if (path, method) not in public:
                assert {"401", "403"} <= set(op["responses"]), (method, path)
