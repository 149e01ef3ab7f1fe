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


# Under a grant, out of scope: what each action with an archive in its path may do. Written out
# here, not derived from access.py: reading and recording the care given, nothing that changes the
# register or others' records.
OPENED_BY_A_GRANT = {
    "archive.read": True, "archive.summary": True, "records.list": True, "record.read": True,
    "archive.revisions": True, "transfers.list": True, "merges.list": True, "record.create": True,
    "record.amend": False, "record.entered_in_error": False, "archive.update": False,
    "archive.terminate": False, "archive.reactivate": False, "archive.duplicates": False,
    "transfer.request": False, "record.review": False,
    # attachments: read under a grant as records are; adding or marking one, the resident's copy and
    # the retention date need the archive in one's own scope
    "attachments.list": True, "attachment.read": True, "attachment.add": False,
    "attachment.entered_in_error": False, "archive.export": False, "archive.retention": False,
    "card.issue": False, "card.read": False, "archive.id_number": False,
    # the programmes: an archive's enrolments are its keepers' work (a grant opens none of it)
    "programmes.read": False, "programme.enrol": False, "programme.end": False, "programme.resume": False,
}


def test_the_table_names_every_action_on_an_archive_in_its_path():
    on_an_archive = {a.name for perms in access.PERMISSIONS.values() for a in perms
                     if a.archive in (access.READ, access.WRITE)}
    assert on_an_archive == set(OPENED_BY_A_GRANT)


@pytest.mark.parametrize("name,opened", OPENED_BY_A_GRANT.items())
def test_a_grant_opens_reading_and_recording_care_and_nothing_else(name, opened):
    action = next(a for perms in access.PERMISSIONS.values() for a in perms if a.name == name)
    out = archive("110105201101", manager="T1101052011")
    decision = access.decide_archive(action, VILLAGE, out, has_grant=True)
    assert decision == access.ArchiveDecision(allowed=opened, out_of_scope=True, beyond_grant=not opened)
    # without a grant, hidden (404) whatever the action; in scope, allowed whatever the grant
    assert access.decide_archive(action, VILLAGE, out, has_grant=False) == \
        access.ArchiveDecision(allowed=False, out_of_scope=True)
    assert access.decide_archive(action, VILLAGE, archive("110105101101"), has_grant=True).allowed


def test_a_grant_does_not_count_for_merges_or_transfers_named_by_id():
    # merges check both archives with `archive_in_scope` (grants ignored), transfers by their sides
    out = archive("110105201101", manager="T1101052011")
    assert not access.archive_in_scope(TOWNSHIP, out)
    transfer = {"from_village_code": "110105201101", "from_institution_code": "T1101052011",
                "to_village_code": "110105101101", "to_institution_code": "T1101051011"}
    assert access.transfer_sides(TOWNSHIP, transfer) == {access.RECEIVING}


def test_the_owning_sides_supervisors_and_archive_managers_review_grants():
    reviewers = {role for role in access.ROLES if access.permits(role, access.GRANTS_LIST)}
    assert reviewers == {access.SUPERVISOR, access.INSTITUTION_ADMIN, access.ARCHIVE_MANAGER}


def test_the_daily_grant_limit_is_a_setting_of_its_own():
    from shared.config import ConfigError, load_settings

    assert load_settings({}).grant_daily_limit == 20
    assert load_settings({"EHR_GRANT_DAILY_LIMIT": "3"}).grant_daily_limit == 3
    for bad in ("0", "many"):
        with pytest.raises(ConfigError, match="EHR_GRANT_DAILY_LIMIT"):
            load_settings({"EHR_GRANT_DAILY_LIMIT": bad})


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


def test_township_systems_file_form_records_and_programme_work_and_hospitals_read_no_archives():
    assert access.permits(access.TOWNSHIP_SYSTEM, access.ARCHIVE_READ)
    # the centre's own software files its doctors' follow-ups and runs their work list
    assert all(access.permits(access.TOWNSHIP_SYSTEM, a) for a in access.RECORD_WRITES)
    assert all(access.permits(access.TOWNSHIP_SYSTEM, a) for a in access.SYSTEM_PROGRAMME_WORK)
    # no files, no grants, no keeping of the register, no figures
    for action in (access.ATTACHMENT_ADD, access.ATTACHMENT_MARK_IN_ERROR, access.ACCESS_GRANT,
                   access.ARCHIVE_TERMINATE, access.ARCHIVE_MERGE, access.PROGRAMME_FIGURES, access.STATS_READ):
        assert not access.permits(access.TOWNSHIP_SYSTEM, action), action.name
    # a hospital's system reads its institution lists and answers the referrals and consultations
    # addressed to it (reading the records an open referral names); it refers nobody, reads no archive
    assert access.PERMISSIONS[access.HOSPITAL_SYSTEM] == frozenset({*access.REFERENCE, *access.RECEIVING_REFERRALS})
    assert not any(access.permits(access.HOSPITAL_SYSTEM, a) for a in (*access.REFERRING, *access.ARCHIVE_READS))


def test_only_clinicians_and_township_systems_write_and_unknown_roles_may_do_nothing():
    writers = {role for role in access.ROLES if access.permits(role, access.RECORD_CREATE)}
    assert writers == {access.VILLAGE_DOCTOR, access.TOWNSHIP_DOCTOR, access.ARCHIVE_MANAGER, access.TOWNSHIP_SYSTEM}
    # a system is never an archive's 责任医生
    assert access.TOWNSHIP_SYSTEM not in access.RESPONSIBLE_ROLES
    assert not access.permits("root", access.VILLAGES_LIST) and not access.permits(None, access.VILLAGES_LIST)


def test_roles_fit_the_kinds_of_institution():
    assert access.role_fits_institution(access.VILLAGE_DOCTOR, "village_clinic")
    assert not access.role_fits_institution(access.VILLAGE_DOCTOR, "hospital")
    assert access.role_fits_institution(access.HOSPITAL_SYSTEM, "hospital")
    assert not access.role_fits_institution(access.TOWNSHIP_SYSTEM, "village_clinic")
    assert access.role_fits_institution(access.SYSTEM_OPERATOR, "health_commission")


def test_the_health_commission_supervises_and_writes_nothing_into_archives():
    # no township doctor is made at the commission any more ...
    assert not access.role_fits_institution(access.TOWNSHIP_DOCTOR, "health_commission")
    assert access.role_fits_institution(access.SUPERVISOR, "health_commission")
    # ... and one made before may do what its role allows but create, correct, record or keep
    assert access.permits(access.TOWNSHIP_DOCTOR, access.ARCHIVE_CREATE)
    for action in access.KEEPERS_WRITE:
        with pytest.raises(Forbidden):
            access.require_keeping(COUNTY, action)
        with pytest.raises(Forbidden):
            access.require_keeping(HOSPITAL, action)
        with pytest.raises(Forbidden):
            access.require_keeping(None, action)
        for keeper in (TOWNSHIP, COMMUNITY, VILLAGE):
            access.require_keeping(keeper, action)
    for reading in (access.ARCHIVE_READ, access.ARCHIVE_SEARCH, access.STATS_READ, access.DUPLICATES_REVIEW,
                    access.TRANSFER_READ, access.GRANTS_LIST):
        access.require_keeping(COUNTY, reading)
    assert {access.ARCHIVE_CREATE, access.RECORD_CREATE, access.ARCHIVE_UPDATE,
            access.ARCHIVE_ID_ATTACH} <= access.KEEPERS_WRITE


def test_a_responsible_doctor_is_a_clinician_of_the_managing_institution():
    doctor = {"institution_code": "T1101051011", "role": access.TOWNSHIP_DOCTOR}
    assert access.may_be_responsible(doctor, "T1101051011")
    assert access.may_be_responsible({**doctor, "role": access.VILLAGE_DOCTOR}, "T1101051011")
    assert not access.may_be_responsible(doctor, "T1101052011")              # another institution
    assert not access.may_be_responsible({**doctor, "role": access.INSTITUTION_ADMIN}, "T1101051011")
    assert not access.may_be_responsible({**doctor, "role": access.TOWNSHIP_SYSTEM}, "T1101051011")
    assert not access.may_be_responsible(None, "T1101051011")                # no such user


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


def _signed(header: dict, claims: dict, key: bytes = KEY, alg: str = "sha256") -> str:
    """A token made by hand, to show what the gateway refuses whatever a library would sign."""
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = b64(hmac.new(key, signing_input.encode(), getattr(hashlib, alg)).digest()) if alg else ""
    return f"{signing_input}.{signature}"


def test_a_token_carries_its_token_version_and_needs_every_claim():
    now = int(time.time())
    claims = {"sub": "doc01", "iat": now, "exp": now + 900, "ver": 7}
    assert credentials.read_token(KEY, credentials.issue_token(KEY, "doc01", 900, version=7))["ver"] == 7
    assert credentials.read_token(KEY, _signed({"alg": "HS256", "typ": "JWT"}, claims))["ver"] == 7
    for missing in ("sub", "iat", "exp", "ver"):
        token = _signed({"alg": "HS256", "typ": "JWT"}, {k: v for k, v in claims.items() if k != missing})
        with pytest.raises(credentials.InvalidToken, match="malformed_token"):
            credentials.read_token(KEY, token)
    with pytest.raises(credentials.InvalidToken, match="malformed_token"):
        credentials.read_token(KEY, _signed({"alg": "HS256", "typ": "JWT"}, {**claims, "ver": "7"}))


@pytest.mark.parametrize("header,alg", [
    ({"alg": "none", "typ": "JWT"}, None), ({"alg": "HS512", "typ": "JWT"}, "sha512"),
    ({"alg": "HS384", "typ": "JWT"}, "sha384"),
])
def test_only_hs256_is_accepted_whatever_the_token_names(header, alg):
    now = int(time.time())
    token = _signed(header, {"sub": "doc01", "iat": now, "exp": now + 900, "ver": 0}, alg=alg)
    with pytest.raises(credentials.InvalidToken):
        credentials.read_token(KEY, token)


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
    key = bytes(range(32))
    digest = entry_hash(fields, key=key)
    for name, other in (("actor", "doc02"), ("status", 404), ("prev_hash", "1" * 64), ("out_of_scope", True)):
        assert entry_hash({**fields, name: other}, key=key) != digest
    assert entry_hash({**fields, "at": fields["at"].astimezone()}, key=key) == digest  # same instant, any zone
    assert entry_hash(fields, key=bytes(32)) != digest  # keyed: without the key, no valid link


def test_reasons_are_stored_masked():
    from services.gateway.audit import clean_text

    assert clean_text("急诊 11010519491231002X 13800000000", 500) == "急诊 **************002X 138****0000"
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
    assert public == {("/api/v1/auth/token", "post"), ("/api/v1/health", "get"), ("/api/v1/health/live", "get"),
                      ("/api/v1/health/ready", "get"), ("/", "get"), ("/api/v1/docs", "get")}
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if (path, method) not in public:
                assert {"401", "403"} <= set(op["responses"]), (method, path)
