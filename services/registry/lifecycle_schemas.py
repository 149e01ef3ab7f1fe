"""Schemas of the registry's lifecycle RPCs: identity corrections, termination, transfer, merge,
and the answers describing an archive's lifecycle. Messages never repeat a refused value."""

from __future__ import annotations

from datetime import date

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from shared.api import CARD_NUMBER, NAME, ArchiveSchema, Name, valid_village_code
from shared.archive_no import InvalidArchiveNumber, parse_archive_number
from shared.codes import IdType, Sex
from shared.errors import ValidationFailed

from services.registry.lifecycle import DETAIL_FIELDS, TERMINATION_DETAILS, TERMINATION_REASONS
from services.registry.schemas import PHONE

REASON = validate.Length(min=1, max=2000)
TEXT = validate.Length(min=1, max=2000)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def _not_in_future(value: date) -> None:
    if value > date.today():
        raise ValidationError("Must not be in the future.")


def _archive_number(value: str) -> None:
    try:
        parse_archive_number(value)
    except InvalidArchiveNumber as exc:
        raise ValidationError(f"Not a valid archive number: {exc.reason}.") from None


def load_id(value, field: str) -> int:
    """A journal id (transfer, merge) given to an RPC: a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationFailed("invalid id", {field: ["Must be a positive integer."]})
    return value


class IdentityUpdateSchema(_Strict):
    """The identity fields to correct, any of:

        {"name": "张秀瑛", "sex": "2", "birth_date": "1949-12-31", "id_type": "01",
         "id_number": "11010519491231002X", "phone": "13900000000",
         "health_card_no": "H11010500012", "insurance_card_no": null}

    `phone: null` clears the phone, a card number `null` removes the card. The result is checked
    as a whole (ID number against sex and birth date; cards held by no other archive) by the use
    case. Village and institution change only through a transfer.
    """

    name = Name(validate=NAME)
    sex = fields.Str(validate=validate.OneOf(Sex.codes()))
    birth_date = fields.Date(validate=_not_in_future)
    id_type = fields.Str(validate=validate.OneOf(IdType.codes()))
    id_number = fields.Str(validate=validate.Length(min=1, max=64))
    phone = fields.Str(allow_none=True, validate=PHONE)
    health_card_no = fields.Str(allow_none=True, validate=CARD_NUMBER)
    insurance_card_no = fields.Str(allow_none=True, validate=CARD_NUMBER)

    @validates_schema
    def _something(self, data, **kwargs) -> None:
        if not data:
            raise ValidationError("Give at least one field to change.", "_schema")


class ReasonSchema(_Strict):
    """Why: `{"reason": "居民返回本村居住"}`."""

    reason = fields.Str(required=True, validate=REASON)


class OptionalReasonSchema(_Strict):
    reason = fields.Str(load_default=None, allow_none=True, validate=REASON)


class TerminationSchema(_Strict):
    """A termination (终止) with the facts its reason requires, one of:

        {"reason": "death", "date": "2026-11-20", "cause": "脑梗死"}
        {"reason": "migration_out", "date": "2026-11-20", "destination": "河北省保定市莲池区",
         "handover": "纸质档案及电子档案交莲池区五四路社区卫生服务中心王医生"}
        {"reason": "loss_to_follow_up", "date": "2026-11-20", "note": "连续三次入户未见，电话停机"}
    """

    reason = fields.Str(required=True, validate=validate.OneOf(TERMINATION_REASONS))
    date = fields.Date(required=True, validate=_not_in_future)
    cause = fields.Str(validate=TEXT)
    destination = fields.Str(validate=TEXT)
    handover = fields.Str(validate=TEXT)
    note = fields.Str(validate=TEXT)

    @validates_schema
    def _details_of_the_reason(self, data, **kwargs) -> None:
        wanted = TERMINATION_DETAILS.get(data.get("reason"))
        if wanted is None:
            return
        errors = {f: [f"Required when the reason is {data['reason']}."] for f in wanted if not data.get(f)}
        errors.update({f: [f"Only when the reason is {', '.join(r for r, w in TERMINATION_DETAILS.items() if f in w)}."]
                       for f in DETAIL_FIELDS if f not in wanted and f in data})
        if errors:
            raise ValidationError(errors)


class TransferRequestSchema(_Strict):
    """Move an archive to another village or institution of the suite:

        {"to_village_code": "110105201101", "to_institution_code": "T1101052011", "reason": "迁居东窑村"}
    """

    to_village_code = fields.Str(required=True, validate=valid_village_code)
    to_institution_code = fields.Str(required=True, validate=validate.Length(min=1, max=22))
    reason = fields.Str(required=True, validate=REASON)


class MergeRequestSchema(_Strict):
    """Merge two archives of one person:

        {"surviving_archive_no": "11010510110100003", "merged_archive_no": "11010510110100007",
         "reason": "同一居民重复建档"}
    """

    surviving_archive_no = fields.Str(required=True, validate=_archive_number)
    merged_archive_no = fields.Str(required=True, validate=_archive_number)
    reason = fields.Str(required=True, validate=REASON)


# -- answers -----------------------------------------------------------------------------------


class TerminationViewSchema(Schema):
    reason = fields.Str(metadata={"example": "migration_out"})
    date = fields.Date()
    cause = fields.Str(allow_none=True)
    destination = fields.Str(allow_none=True)
    handover = fields.Str(allow_none=True)
    note = fields.Str(allow_none=True)


class ArchiveDetailSchema(ArchiveSchema):
    """An archive with its lifecycle, as `get_archive` answers it:

        {"archive_no": "11010520110100012", "status": "terminated", ..., "updated_at": "...",
         "termination": {"reason": "death", "date": "2026-11-20", "cause": "脑梗死",
                         "destination": null, "handover": null, "note": null},
         "merged_into": null, "former_archive_nos": ["11010510110100007"], "merged_archive_nos": []}

    `termination` is null unless terminated; `former_archive_nos` are the numbers the archive had
    before transfers, `merged_archive_nos` those of the archives merged into it. All of them lead
    here.
    """

    updated_at = fields.AwareDateTime()
    termination = fields.Nested(TerminationViewSchema, allow_none=True)
    merged_into = fields.Str(allow_none=True)
    former_archive_nos = fields.List(fields.Str())
    merged_archive_nos = fields.List(fields.Str())


class ActorViewSchema(Schema):
    user = fields.Str()
    institution_code = fields.Str(allow_none=True)
    role = fields.Str(allow_none=True)


class ArchiveRevisionSchema(Schema):
    """One revision (see `services.registry.revisions`):

        {"archive_no": "11010510110100007", "revision": 2, "changed_at": "2026-11-28T02:10:00+00:00",
         "actor": {"user": "doc01", "institution_code": "T1101051011", "role": "doctor"},
         "action": "terminated", "reason": "death",
         "changes": {"status": ["active", "terminated"], "termination_reason": [null, "death"]}}
    """

    archive_no = fields.Str()
    revision = fields.Int()
    changed_at = fields.AwareDateTime()
    actor = fields.Function(lambda r: {"user": r.actor_user, "institution_code": r.actor_institution,
                                       "role": r.actor_role})
    action = fields.Str()
    reason = fields.Str(allow_none=True)
    changes = fields.Dict()


class TransferSchema(Schema):
    """A transfer request and its decision:

        {"transfer_id": 7, "archive_no": "11010520110100012", "status": "accepted",
         "from_archive_no": "11010510110100007", "new_archive_no": "11010520110100012",
         "from_village_code": "110105101101", "from_institution_code": "T1101051011",
         "to_village_code": "110105201101", "to_institution_code": "T1101052011", "reason": "迁居东窑村",
         "requested_by": "doc01", "requested_at": "...", "decided_by": "doc07", "decided_at": "...",
         "decision_reason": null}
    """

    transfer_id = fields.Int(attribute="id")
    archive_no = fields.Str()
    status = fields.Str()
    from_archive_no = fields.Str()
    new_archive_no = fields.Str(allow_none=True)
    from_village_code = fields.Str(attribute="from_village")
    from_institution_code = fields.Str(attribute="from_institution")
    to_village_code = fields.Str(attribute="to_village")
    to_institution_code = fields.Str(attribute="to_institution")
    reason = fields.Str()
    requested_by = fields.Str()
    requested_by_institution = fields.Str(allow_none=True)
    requested_at = fields.AwareDateTime()
    decided_by = fields.Str(allow_none=True)
    decided_by_institution = fields.Str(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    decision_reason = fields.Str(allow_none=True)


class MergeSchema(Schema):
    """A merge from the journal (the snapshot of identity columns is not answered):

        {"merge_id": 42, "archive_no": "11010510110100003", "merged_archive_no": "11010510110100007",
         "merged_id_number_masked": "**************0021", "reason": "同一居民重复建档",
         "merged_by": "doc01", "merged_at": "...", "unmerged_at": null, "unmerged_by": null,
         "unmerge_reason": null}
    """

    merge_id = fields.Int(attribute="id")
    archive_no = fields.Str(attribute="surviving_archive_no")
    merged_archive_no = fields.Str()
    merged_id_number_masked = fields.Function(lambda m: m.snapshot.get("id_number_masked"))
    reason = fields.Str()
    merged_by = fields.Str()
    merged_by_institution = fields.Str(allow_none=True)
    merged_at = fields.AwareDateTime()
    unmerged_at = fields.AwareDateTime(allow_none=True)
    unmerged_by = fields.Str(allow_none=True)
    unmerge_reason = fields.Str(allow_none=True)
