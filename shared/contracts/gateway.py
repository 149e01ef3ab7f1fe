"""Contracts of the gateway's own HTTP answers and queries (`/api/v1`): sign-in, grants, counts,
health and errors. What the gateway passes through from a service is that service's contract
(`shared.contracts.registry`, `shared.contracts.records`).

    POST /api/v1/auth/token  body TokenRequestSchema  -> TokenSchema
    POST /api/v1/archives/{archive_no}/access  body AccessGrantRequestSchema -> AccessGrantSchema
    GET  /api/v1/grants   query GrantQuerySchema      -> GrantPageSchema
    GET  /api/v1/stats                                -> StatsSchema
    GET  /api/v1/health                               -> HealthSchema
    any error                                         -> ErrorSchema
"""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from shared.contracts import registry
from shared.contracts.fields import Lenient, PageQuerySchema, instant


class HealthSchema(Schema):
    status = fields.Str(metadata={"example": "ok"})
    checks = fields.Dict(keys=fields.Str(), values=fields.Str())


class ErrorDetailSchema(Schema):
    code = fields.Str(metadata={"example": "validation_failed"})
    message = fields.Str()
    details = fields.Dict(metadata={"description": "field name -> list of messages"})
    request_id = fields.Str()


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema)


class TokenRequestSchema(Schema):
    """Sign in: `{"username": "doc01", "password": "..."}`."""

    class Meta:
        unknown = RAISE

    username = fields.Str(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9._-]{1,64}$", error="Letters, digits, '.', '_' or '-', at most 64."))
    password = fields.Str(required=True, validate=validate.Length(min=1, max=1024), load_only=True)


class TokenSchema(Schema):
    """A signed bearer token: send it as `Authorization: Bearer <access_token>` until it expires."""

    access_token = fields.Str(metadata={"example": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOi..."})
    token_type = fields.Str(metadata={"example": "Bearer"})
    expires_in = fields.Int(metadata={"description": "seconds", "example": 900})
    username = fields.Str()
    role = fields.Str(metadata={"example": "township_doctor"})
    institution_code = fields.Str(metadata={"example": "T1101051011"})


class AccessGrantRequestSchema(Schema):
    """Why an archive outside your scope is needed, e.g. `{"reason": "急诊：患者在本院就诊"}`."""

    class Meta:
        unknown = RAISE

    reason = fields.Str(required=True, validate=validate.Length(min=2, max=500))


class AccessGrantSchema(Schema):
    archive_no = fields.Str()
    out_of_scope = fields.Bool(metadata={"description": "false: the archive is in your scope, no grant needed"})
    reason = fields.Str()
    expires_at = fields.Str(allow_none=True, metadata={"format": "date-time"})


class GrantSchema(Schema):
    """A grant someone took on an archive of your jurisdiction (the archive's village and managing
    institution when it was granted; the reason masked like the audit trail):

        {"grant_id": 7, "archive_no": "11010520110100001", "village_code": "110105201101",
         "institution_code": "T1101052011", "granted_to": {"user": "doc01",
         "institution_code": "T1101051011", "role": "township_doctor"},
         "reason": "急诊：患者在本院就诊", "granted_at": "2026-12-04T06:00:00+00:00",
         "expires_at": "2026-12-04T10:00:00+00:00"}
    """

    grant_id = fields.Int(attribute="id")
    archive_no = fields.Str()
    village_code = fields.Str(attribute="archive_village_code")
    institution_code = fields.Str(attribute="archive_institution_code")
    granted_to = fields.Function(lambda g: {"user": g.actor, "institution_code": g.institution_code, "role": g.role},
                                 metadata={"type": "object"})
    reason = fields.Str()
    granted_at = fields.AwareDateTime()
    expires_at = fields.AwareDateTime()


class GrantPageSchema(Schema):
    items = fields.List(fields.Nested(GrantSchema))
    next = fields.Str(allow_none=True, metadata={"description": "cursor of the next page, or null"})


class VillageCountSchema(Schema):
    code = fields.Str(metadata={"example": "110105101101"})
    name = fields.Str()
    archives = fields.Int(metadata={"description": "archives whose resident lives in the village"})
    by_status = fields.Dict(keys=fields.Str(), values=fields.Int(), metadata={"example": {"active": 412}})


class StatsSchema(Schema):
    """Aggregate figures of the caller's jurisdiction: counts only, no personal data."""

    jurisdiction = fields.Str(allow_none=True, metadata={"example": "110105101"})
    total = fields.Int()
    villages = fields.List(fields.Nested(VillageCountSchema))


class IndicatorsQuerySchema(Lenient):
    """`?division=110105101&months=12`: a division within your jurisdiction (default: the
    jurisdiction), and how many months the trend goes back (the current one included)."""

    division = fields.Str(load_default=None, validate=validate.Regexp(r"^[0-9]{6}([0-9]{3}){0,2}$",
                                                                      error="A county, township or village code."))
    months = fields.Int(load_default=12, validate=validate.Range(min=1, max=24))


_RATE = {"description": "%, one decimal; null when the denominator is unknown or 0"}


class IndicatorRowSchema(Schema):
    """One village's (or the division's) indicators (domain.md §6): 建档率 = archives ÷ 常住人口,
    电子建档率 = archives with their 个人基本信息表 filed ÷ 常住人口, 使用率 = archives with a record
    in the past 365 days ÷ archives."""

    code = fields.Str(metadata={"example": "110105101101"})
    name = fields.Str(allow_none=True)
    population = fields.Int(allow_none=True, metadata={"description": "常住人口 (reference data)"})
    archives = fields.Int(metadata={"description": "active archives"})
    electronic_archives = fields.Int()
    dynamic_archives = fields.Int()
    coverage_rate = fields.Float(allow_none=True, metadata={**_RATE, "example": 68.2})
    electronic_coverage_rate = fields.Float(allow_none=True, metadata=_RATE)
    use_rate = fields.Float(allow_none=True, metadata=_RATE)


class IndicatorMonthSchema(Schema):
    """The division at the end of one month (the current month: today)."""

    month = fields.Str(metadata={"example": "2026-11"})
    archives = fields.Int(metadata={"description": "active archives built (建档日期) by then"})
    dynamic_archives = fields.Int()
    coverage_rate = fields.Float(allow_none=True, metadata=_RATE)
    use_rate = fields.Float(allow_none=True, metadata=_RATE)


class IndicatorsSchema(Schema):
    """The work indicators of a division, per village, and its trend by month: counts and rates only."""

    division = fields.Str(metadata={"example": "110105101"})
    as_of = fields.Date()
    total = fields.Nested(IndicatorRowSchema)
    villages = fields.List(fields.Nested(IndicatorRowSchema))
    trend = fields.List(fields.Nested(IndicatorMonthSchema))


class GrantQuerySchema(PageQuerySchema):
    """`?since=2026-12-01T00:00:00+08:00&limit=50`: grants taken at or after `since`."""

    since = fields.Str(load_default=None, validate=[validate.Length(max=40), instant])


class TransferQuerySchema(Lenient):
    """`?status=requested&limit=50`: transfers addressed to your institution, newest first."""

    status = fields.Str(load_default=None, validate=validate.OneOf(["requested", "accepted", "rejected",
                                                                    "cancelled"]))
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=200))


# -- HTTP bodies and answers of the gateway's own ------------------------------------------------


class SignedOutSchema(Schema):
    """`{"username": "doc01", "signed_out": true}`: sign in again for a new token."""

    username = fields.Str()
    signed_out = fields.Bool()


class SearchRequestSchema(registry.ArchiveSearchSchema):
    """Filters (combined with AND, at least one) and the page: `{"pinyin": "zhangxiu", "limit": 20}`.
    Only archives of your jurisdiction (and those your institution manages) are found."""

    limit = fields.Int(load_default=50, metadata={"minimum": 1, "maximum": 200})
    cursor = fields.Str(load_default=None, metadata={"description": "`next` of the previous page"})


class IdentityUpdateSchema(registry.IdentityUpdateSchema):
    """The fields to correct, and why: `{"name": "张秀瑛", "reason": "核对户口本"}`. Each change is
    kept as a revision; the ID number must stay consistent with sex and birth date."""

    reason = fields.Str(metadata={"description": "why (kept in the revision)"})


class CardIssueBodySchema(Schema):
    """`POST /api/v1/archives/{archive_no}/cards`: `{}` for the first card, `{"reason": "卡片遗失"}`
    for a reissue (required then)."""

    class Meta:
        unknown = RAISE

    reason = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=1, max=2000),
                        metadata={"description": "required for a reissue: why the card is issued again",
                                  "example": "卡片遗失"})


class CardFrontSchema(Schema):
    """The front of the card: who, the archive number, ABO/Rh, chronic diseases and allergies
    (from the 首页: the 个人基本信息表 and hospitals' diagnoses)."""

    name = fields.Str()
    sex = fields.Str(metadata={"description": "GB/T 2261.1: 1 男; 2 女; 0 未知; 9 未说明"})
    birth_date = fields.Date()
    archive_no = fields.Str(metadata={"description": "the archive number printed on the card (档案编号)"})
    blood_type = fields.Dict(allow_none=True, metadata={
        "description": "`{abo, rh}`: ABO 1 A; 2 B; 3 O; 4 AB; 5 不详 and Rh 1 阴性; 2 阳性; 3 不详; null when unknown",
        "example": {"abo": "1", "rh": "2"}})
    chronic_diseases = fields.List(fields.Str(), metadata={
        "description": "the card's boxes that are ticked: 高血压, 糖尿病, 脑卒中, 冠心病, 哮喘, 职业病, 其他 "
                       "(an empty list: none known)", "example": ["高血压", "其他"]})
    chronic_diseases_other = fields.List(fields.Str(), metadata={
        "description": "what 其他 stands for", "example": ["慢性阻塞性肺疾病"]})
    drug_allergies = fields.List(fields.Str(), allow_none=True, metadata={
        "description": "药物过敏史 codes: 1 无; 2 青霉素; 3 磺胺; 4 链霉素; 5 其他; null when unknown"})
    drug_allergies_other = fields.Str(allow_none=True)


class CardBackSchema(Schema):
    """The back of the card. `address`, `emergency_contact` and `responsible_doctor` are null
    until the archive's identity keeps them (现住址, 联系人, 责任医生; issue 18)."""

    address = fields.Str(allow_none=True)
    phone = fields.Str(allow_none=True)
    emergency_contact = fields.Dict(allow_none=True)
    village_name = fields.Str(allow_none=True)
    institution_code = fields.Str(metadata={"description": "建档机构"})
    institution_name = fields.Str(allow_none=True)
    responsible_doctor = fields.Str(allow_none=True)


class CardSchema(Schema):
    """`GET /api/v1/archives/{archive_no}/card`: the 居民健康档案信息卡's content and its issues
    (oldest first). The number on the card finds the archive even after a transfer changed it;
    `reissue_needed` then says the card in hand shows an old number."""

    archive_no = fields.Str(metadata={"description": "the archive's current number"})
    front = fields.Nested(CardFrontSchema)
    back = fields.Nested(CardBackSchema)
    issues = fields.List(fields.Nested(registry.CardIssueSchema))
    reissue_needed = fields.Bool()
