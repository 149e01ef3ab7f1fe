"""`ehr.event/1`: the domain events services announce on `ehr.events` (routing key
`<service>.<event_type>`), built by one builder and read by one reader.

    stage(session, outbox, [event_message("registry", ARCHIVE_CREATED, {"archive_no": ..., ...}, actor)])
    event = load_event(delivery.body)      # Event(event_id=..., event_type="archive_created", data={...})
                                           # InvalidEvent(errors) if it is not an ehr.event/1

`event_message` dumps the envelope through `EventSchema` and the `data` through the event's own
payload schema (`PAYLOADS`), so only what a payload schema declares leaves a service; `load_event`
loads both, so a consumer reads only what the contract promises. Payloads carry no ID or phone
number: archive numbers, codes, and `identity_keys` (hex blind indexes of ID numbers, which let
records find what it parked without the ID number leaving the registry).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from shared.actor import Actor
from shared.messaging import EVENTS, event_routing_key
from shared.outbox import OutboxMessage

from shared.contracts.fields import ArchiveNo, Lenient, field_errors, valid_village_code

EVENT_V1 = "ehr.event/1"

# -- Registry events (routing key `registry.<event_type>`; the rules behind each in
# `services/registry/lifecycle.py`) ---------------------------------------------------------------

ARCHIVE_CREATED = "archive_created"
IDENTITY_UPDATED = "identity_updated"
ARCHIVE_TERMINATED = "archive_terminated"
ARCHIVE_REACTIVATED = "archive_reactivated"
ARCHIVE_TRANSFERRED = "archive_transferred"
ARCHIVES_MERGED = "archives_merged"
ARCHIVES_UNMERGED = "archives_unmerged"

# -- Gateway events (routing key `gateway.<event_type>`): what the owners of an archive must hear
# of. `access_granted`: a user outside their scope opened it with a stated reason. -------------

ACCESS_GRANTED = "access_granted"

# -- Records events (routing key `records.<event_type>`): what the programmes (and later the
# referrals and sync services) must hear of a record's life, with the few facts they act on. ----

RECORD_CHANGED = "record_changed"

# -- Programmes events (routing key `programmes.<event_type>`): enrolment in a key-population
# programme, what falls due, and referrals the follow-ups call for (for the referrals service). --

ENROLLED = "enrolled"
ENROLMENT_ENDED = "enrolment_ended"
FOLLOW_UP_DUE = "follow_up_due"
FOLLOW_UP_OVERDUE = "follow_up_overdue"
REFERRAL_SUGGESTED = "referral_suggested"

# -- Referrals events (routing key `referrals.<event_type>`): each change of a referral (双向转诊)
# and of a consultation (会诊); the 回转单 a back-referral files (records' `record_changed`, record
# type `referral_back`) is what puts the resident back on the programmes' work list. ------------

REFERRAL_REQUESTED = "referral_requested"
REFERRAL_ACCEPTED = "referral_accepted"
REFERRAL_REJECTED = "referral_rejected"
REFERRAL_EXPIRED = "referral_expired"
REFERRAL_CANCELLED = "referral_cancelled"
REFERRAL_ARRIVED = "referral_arrived"
REFERRAL_BACK_REFERRED = "referral_back_referred"
REFERRAL_CLOSED = "referral_closed"
CONSULTATION_REQUESTED = "consultation_requested"
CONSULTATION_ANSWERED = "consultation_answered"


class EventSchema(Lenient):
    """Envelope of a domain event on `ehr.events`, routing key `<service>.<event_type>`.

        {"schema": "ehr.event/1", "event_id": "0d5e...", "event_type": "archive_created",
         "service": "registry", "occurred_at": "2026-11-26T01:31:02+00:00",
         "actor": {"user": "system", "institution_code": "H3301020001", "role": null},
         "data": {"archive_no": "11010500300100042", "village_code": "110105003001",
                  "institution_code": "C1101050031", "identity_keys": ["9c1f..."]}}
    """

    schema = fields.Constant(EVENT_V1)
    event_id = fields.Str(required=True, validate=validate.Length(min=1, max=255))
    event_type = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    service = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    occurred_at = fields.AwareDateTime(required=True)
    actor = fields.Dict(load_default=dict)
    data = fields.Dict(required=True)


IDENTITY_KEY = validate.Regexp(r"^[0-9a-f]{2,128}$", error="Hex digits (a blind index).")


def _identity_keys(**kwargs) -> fields.List:
    return fields.List(fields.Str(validate=IDENTITY_KEY), **kwargs)


class ProfileSchema(Lenient):
    """What a key-population programme needs of the resident to judge eligibility and schedules,
    and nothing that identifies them on its own: birth date, sex (GB/T 2261.1), 常住类型 (1 户籍,
    2 非户籍; null when not recorded) and the 责任医生 (a username of the suite), as they are now.

        {"birth_date": "1956-03-01", "sex": "1", "residence_type": "1", "responsible_doctor": "wang"}
    """

    birth_date = fields.Date(required=True)
    sex = fields.Str(required=True)
    residence_type = fields.Str(load_default=None, allow_none=True)
    responsible_doctor = fields.Str(load_default=None, allow_none=True)


class ArchiveCreatedSchema(Lenient):
    """`archive_created`: an archive was created; `profile` (ProfileSchema) since the programmes
    service (null from an older registry).

        {"archive_no": "11010510110100007", "village_code": "110105101101",
         "institution_code": "T1101051011", "identity_keys": ["9c1f...64 hex"],
         "profile": {"birth_date": "1956-03-01", "sex": "1", "residence_type": "1", "responsible_doctor": null}}
    """

    archive_no = ArchiveNo(required=True)
    village_code = fields.Str(required=True, validate=valid_village_code)
    institution_code = fields.Str(required=True)
    identity_keys = _identity_keys(required=True)
    profile = fields.Nested(ProfileSchema, load_default=None, allow_none=True)


class IdentityUpdatedSchema(Lenient):
    """`identity_updated`: identity fields were corrected; `fields` names them, never their
    values; `identity_keys` is the blind index of the archive's ID number as it is now.

        {"archive_no": "11010510110100007", "fields": ["name", "phone"], "identity_keys": ["9c1f..."]}
    """

    archive_no = ArchiveNo(required=True)
    fields_ = fields.List(fields.Str(), required=True, data_key="fields", attribute="fields")
    identity_keys = _identity_keys(required=True)
    profile = fields.Nested(ProfileSchema, load_default=None, allow_none=True)


class ArchiveTerminatedSchema(Lenient):
    """`archive_terminated`: the archive was terminated (终止) for `reason` (`death`,
    `migration_out` or `loss_to_follow_up`) on `date`.

        {"archive_no": "11010510110100007", "reason": "death", "date": "2026-11-20"}
    """

    archive_no = ArchiveNo(required=True)
    reason = fields.Str(required=True)
    date = fields.Date(required=True)


class ArchiveReactivatedSchema(Lenient):
    """`archive_reactivated`: a terminated archive is active again: `{"archive_no": "11010510110100007"}`."""

    archive_no = ArchiveNo(required=True)


class ArchiveTransferredSchema(Lenient):
    """`archive_transferred`: a transfer was accepted; the archive is managed by
    `institution_code` in `village_code`. `former_archive_no` is the number it had when the
    village changed (it still leads here), null when only the institution changed.

        {"archive_no": "11010520110100012", "former_archive_no": "11010510110100007",
         "village_code": "110105201101", "institution_code": "T1101052011"}
    """

    archive_no = ArchiveNo(required=True)
    former_archive_no = ArchiveNo(required=True, allow_none=True)
    village_code = fields.Str(required=True, validate=valid_village_code)
    institution_code = fields.Str(required=True)


class ArchivesMergedSchema(Lenient):
    """`archives_merged`: `merged_archive_no` was merged into `archive_no` (merge `merge_id`);
    records filed under `merged_identity_keys` belong to the merged person.

        {"merge_id": 42, "archive_no": "11010510110100003", "merged_archive_no": "11010510110100007",
         "merged_identity_keys": ["5be0..."]}
    """

    merge_id = fields.Int(required=True, strict=True)
    archive_no = ArchiveNo(required=True)
    merged_archive_no = ArchiveNo(required=True)
    merged_identity_keys = _identity_keys(required=True)


class ArchivesUnmergedSchema(Lenient):
    """`archives_unmerged`: merge `merge_id` was undone; `restored_archive_no` is active again.

        {"merge_id": 42, "archive_no": "11010510110100003", "restored_archive_no": "11010510110100007",
         "restored_identity_keys": ["5be0..."]}
    """

    merge_id = fields.Int(required=True, strict=True)
    archive_no = ArchiveNo(required=True)
    restored_archive_no = ArchiveNo(required=True)
    restored_identity_keys = _identity_keys(required=True)


class AccessGrantedSchema(Lenient):
    """`access_granted` (gateway): a user opened an archive outside their scope, with a reason;
    the envelope's `actor` is the grantee. The archive's village and managing institution are
    those when it was granted.

        {"grant_id": 7, "archive_no": "11010520110100001", "village_code": "110105201101",
         "institution_code": "T1101052011", "reason": "急诊：患者在本院就诊",
         "granted_at": "2026-12-04T06:00:00+00:00", "expires_at": "2026-12-04T10:00:00+00:00"}
    """

    grant_id = fields.Int(required=True, strict=True)
    archive_no = ArchiveNo(required=True)
    village_code = fields.Str(required=True, allow_none=True)
    institution_code = fields.Str(required=True, allow_none=True)
    reason = fields.Str(required=True)
    granted_at = fields.AwareDateTime(required=True)
    expires_at = fields.AwareDateTime(required=True)


class ProgrammeFactsSchema(Lenient):
    """The facts of a record the key-population programmes act on, computed by records from the
    record's content when it is filed or amended (`services/records/forms`' `programme_facts`,
    and the hospital encounter's diagnoses and vital signs). Every field may be absent or null.

    - `programmes`: the programmes the record is a service of (`shared.key_populations`
      PROGRAMMES names, plus `elderly_tcm` for the 中医药 service): a hypertension follow-up
      `["hypertension"]`, an integrated (多病共管) visit `["hypertension", "type2_diabetes"]`,
      a 健康体检表 of a resident of 65 or more `["elderly"]`; a hospital encounter none.
    - `visit_date` (the day of the service), `visit_method` (1 门诊, 2 家庭, 3 电话; 1 and 2 are
      face to face), `classification` (此次随访分类: 1 控制满意, 2 控制不满意, 3 不良反应, 4 并发症)
      of a single programme's follow-up, `classifications` ({programme: 此次随访分类}) of an
      integrated visit, one per programme (`{"hypertension": "1", "type2_diabetes": "2"}`;
      `classification` is then absent), `next_visit_date`, `referred` (the record made a referral).
    - readings: `sbp`, `dbp` (mmHg), `fbg` (fasting glucose, mmol/L).
    - `urgent`: the urgent-referral triggers the record meets (`shared.follow_ups` names, e.g.
      `sbp_180`, `fbg_high`), empty when none.
    - `conditions`: the conditions the record names (`shared.key_populations` CONDITIONS names:
      a hospital diagnosis `I10` gives `hypertension`), and `screening`: conditions a
      health examination's readings suggest (the screening rule).
    """

    programmes = fields.List(fields.Str(), load_default=list)
    visit_date = fields.Date(load_default=None, allow_none=True)
    visit_method = fields.Str(load_default=None, allow_none=True)
    classification = fields.Str(load_default=None, allow_none=True)
    # An integrated (多病共管) visit's classification per programme: {"hypertension": "1", "type2_diabetes": "2"}.
    classifications = fields.Dict(keys=fields.Str(), values=fields.Str(), load_default=None, allow_none=True)
    next_visit_date = fields.Date(load_default=None, allow_none=True)
    referred = fields.Bool(load_default=False)
    sbp = fields.Int(load_default=None, allow_none=True)
    dbp = fields.Int(load_default=None, allow_none=True)
    fbg = fields.Float(load_default=None, allow_none=True)
    urgent = fields.List(fields.Str(), load_default=list)
    conditions = fields.List(fields.Str(), load_default=list)
    screening = fields.List(fields.Str(), load_default=list)


class RecordChangedSchema(Lenient):
    """`record_changed` (records): a record of an archive was filed, amended or marked entered in
    error (`action`, as in the archive update), at `revision`; `occurred_at` is when the service
    was given, `institution_code` the institution that gave it, `kind` the record's kind (a
    hospital encounter's: outpatient, inpatient_discharge ...; null for most forms); `facts`
    (ProgrammeFactsSchema) those of the record as it now stands (null when entered in error). A record moved by a
    transfer, merge or unmerge is not announced again: its archive's event says it.

        {"archive_no": "11010510110100007", "record_id": "8f3e...", "record_type": "hypertension_follow_up",
         "action": "filed", "revision": 1, "occurred_at": "2026-12-01T02:00:00+00:00",
         "institution_code": "T1101051011",
         "facts": {"programmes": ["hypertension"], "visit_date": "2026-12-01", "visit_method": "1",
                   "classification": "2", "sbp": 162, "dbp": 96, "urgent": [], "next_visit_date": "2026-12-15"}}
    """

    archive_no = ArchiveNo(required=True)
    record_id = fields.Str(required=True)
    record_type = fields.Str(required=True)
    action = fields.Str(required=True, validate=validate.OneOf(("filed", "amended", "entered_in_error")))
    revision = fields.Int(required=True, strict=True)
    occurred_at = fields.AwareDateTime(required=True)
    institution_code = fields.Str(load_default=None, allow_none=True)
    kind = fields.Str(load_default=None, allow_none=True)
    facts = fields.Nested(ProgrammeFactsSchema, load_default=None, allow_none=True)


class EnrolledSchema(Lenient):
    """`enrolled` (programmes): a resident was enrolled (纳入管理) in a programme, or an ended
    enrolment resumed (`resumed` true). `source`: `clinician` (enrolled by hand), `suggestion`
    (a suggestion confirmed), `age` (the daily sweep of the elderly).

        {"archive_no": "11010510110100007", "programme": "hypertension", "enrolled_on": "2026-12-01",
         "institution_code": "T1101051011", "responsible_doctor": "doc01", "source": "suggestion",
         "resumed": false}
    """

    archive_no = ArchiveNo(required=True)
    programme = fields.Str(required=True)
    enrolled_on = fields.Date(required=True)
    institution_code = fields.Str(required=True)
    responsible_doctor = fields.Str(load_default=None, allow_none=True)
    source = fields.Str(required=True)
    resumed = fields.Bool(load_default=False)


class EnrolmentEndedSchema(Lenient):
    """`enrolment_ended` (programmes): an enrolment ended for `reason` (`death`, `migration_out`,
    `loss_to_follow_up`, `cured`, `not_eligible`, `merged`) on `date`.

        {"archive_no": "11010510110100007", "programme": "hypertension", "reason": "death",
         "date": "2026-11-20", "institution_code": "T1101051011"}
    """

    archive_no = ArchiveNo(required=True)
    programme = fields.Str(required=True)
    reason = fields.Str(required=True)
    date = fields.Date(required=True)
    institution_code = fields.Str(required=True)


class FollowUpDueSchema(Lenient):
    """`follow_up_due` / `follow_up_overdue` (programmes): a programme's service falls due within
    the week, or is past due (`days_overdue`); announced once per due date, by the daily sweep.
    `reason` is the schedule's code (`services/programmes/schedules.py` REASONS).

        {"archive_no": "11010510110100007", "programme": "hypertension", "service": "follow_up",
         "due_date": "2026-12-15", "reason": "revisit_unsatisfactory", "institution_code": "T1101051011",
         "village_code": "110105101101", "responsible_doctor": "doc01", "urgent": false, "days_overdue": 0}
    """

    archive_no = ArchiveNo(required=True)
    programme = fields.Str(required=True)
    service = fields.Str(required=True)
    due_date = fields.Date(required=True)
    reason = fields.Str(required=True)
    institution_code = fields.Str(required=True)
    village_code = fields.Str(required=True)
    responsible_doctor = fields.Str(load_default=None, allow_none=True)
    urgent = fields.Bool(load_default=False)
    days_overdue = fields.Int(load_default=0)


class ReferralSuggestedSchema(Lenient):
    """`referral_suggested` (programmes): a record calls for a referral: `urgent` (an urgent-referral
    trigger, `triggers` naming them), `two_unsatisfactory` (两次连续控制不满意) or `complications`
    (此次随访分类 4); for the referrals service to pick up.

        {"archive_no": "11010510110100007", "programmes": ["hypertension"], "record_id": "8f3e...",
         "record_type": "hypertension_follow_up", "visit_date": "2026-12-01", "reason": "urgent",
         "triggers": ["sbp_180"], "institution_code": "T1101051011"}
    """

    archive_no = ArchiveNo(required=True)
    programmes = fields.List(fields.Str(), required=True)
    record_id = fields.Str(required=True)
    record_type = fields.Str(required=True)
    visit_date = fields.Date(required=True)
    reason = fields.Str(required=True, validate=validate.OneOf(("urgent", "two_unsatisfactory", "complications")))
    triggers = fields.List(fields.Str(), load_default=list)
    institution_code = fields.Str(load_default=None, allow_none=True)


class ReferralChangedSchema(Lenient):
    """`referral_requested`, `referral_accepted`, `referral_rejected`, `referral_expired`,
    `referral_cancelled`, `referral_arrived`, `referral_back_referred`, `referral_closed`
    (referrals): a referral moved from `from_state` to `state` (`services/referrals/lifecycle.py`);
    `reason` is why, as the one who moved it said (a rejection's reason, the expiry's deadline),
    `record_id` the archive record the step filed (the 转出单 when requested, the 回转单 when
    back-referred), when it filed one.

        {"referral_id": 7, "archive_no": "11010510110100007", "state": "back_referred",
         "from_state": "arrived", "urgency": "urgent", "from_institution_code": "T1101051011",
         "from_doctor": "doc01", "to_institution_code": "H1101050001", "reason": null,
         "record_id": "5f0c...", "deadline_at": "2026-12-02T02:00:00+00:00"}
    """

    referral_id = fields.Int(required=True, strict=True)
    archive_no = ArchiveNo(required=True)
    state = fields.Str(required=True)
    from_state = fields.Str(load_default=None, allow_none=True)
    urgency = fields.Str(required=True)
    from_institution_code = fields.Str(required=True)
    from_doctor = fields.Str(load_default=None, allow_none=True)
    to_institution_code = fields.Str(load_default=None, allow_none=True)
    reason = fields.Str(load_default=None, allow_none=True)
    record_id = fields.Str(load_default=None, allow_none=True)
    deadline_at = fields.AwareDateTime(load_default=None, allow_none=True)


class ConsultationChangedSchema(Lenient):
    """`consultation_requested` / `consultation_answered` (referrals): a consultation (会诊) was
    asked of `to_institution_code`, or answered (then `record_id` is the 会诊记录表 filed).

        {"consultation_id": 3, "archive_no": "11010510110100007", "state": "answered",
         "from_institution_code": "T1101051011", "to_institution_code": "H1101050001", "record_id": "..."}
    """

    consultation_id = fields.Int(required=True, strict=True)
    archive_no = ArchiveNo(required=True)
    state = fields.Str(required=True)
    from_institution_code = fields.Str(required=True)
    to_institution_code = fields.Str(required=True)
    record_id = fields.Str(load_default=None, allow_none=True)


# event_type -> the schema of its `data`: an event without one cannot be built.
PAYLOADS: dict[str, Schema] = {
    ARCHIVE_CREATED: ArchiveCreatedSchema(),
    IDENTITY_UPDATED: IdentityUpdatedSchema(),
    ARCHIVE_TERMINATED: ArchiveTerminatedSchema(),
    ARCHIVE_REACTIVATED: ArchiveReactivatedSchema(),
    ARCHIVE_TRANSFERRED: ArchiveTransferredSchema(),
    ARCHIVES_MERGED: ArchivesMergedSchema(),
    ARCHIVES_UNMERGED: ArchivesUnmergedSchema(),
    ACCESS_GRANTED: AccessGrantedSchema(),
    RECORD_CHANGED: RecordChangedSchema(),
    ENROLLED: EnrolledSchema(),
    ENROLMENT_ENDED: EnrolmentEndedSchema(),
    FOLLOW_UP_DUE: FollowUpDueSchema(),
    FOLLOW_UP_OVERDUE: FollowUpDueSchema(),
    REFERRAL_SUGGESTED: ReferralSuggestedSchema(),
    **{event_type: ReferralChangedSchema() for event_type in (
        REFERRAL_REQUESTED, REFERRAL_ACCEPTED, REFERRAL_REJECTED, REFERRAL_EXPIRED, REFERRAL_CANCELLED,
        REFERRAL_ARRIVED, REFERRAL_BACK_REFERRED, REFERRAL_CLOSED)},
    CONSULTATION_REQUESTED: ConsultationChangedSchema(),
    CONSULTATION_ANSWERED: ConsultationChangedSchema(),
}
_ENVELOPE = EventSchema()


def event_message(service: str, event_type: str, data: dict[str, Any], actor: Actor) -> OutboxMessage:
    """An `ehr.event/1` for a service's outbox: exchange `ehr.events`, routing key
    `<service>.<event_type>`, the event id as the AMQP `message_id`; `data` dumped through the
    event's payload schema (dates and times as Python values, written ISO 8601)."""
    event_id = str(uuid.uuid4())
    return OutboxMessage(
        exchange=EVENTS,
        routing_key=event_routing_key(service, event_type),
        message_id=event_id,
        body=_ENVELOPE.dump({
            "event_id": event_id,
            "event_type": event_type,
            "service": service,
            "occurred_at": datetime.now(timezone.utc),
            "actor": actor.as_dict(),
            "data": PAYLOADS[event_type].dump(data),
        }),
    )


class InvalidEvent(ValueError):
    """Not an `ehr.event/1` (or its `data` not its event's contract); `errors` names the fields."""

    def __init__(self, errors: dict) -> None:
        super().__init__("not an ehr.event/1")
        self.errors = errors


@dataclass(frozen=True)
class Event:
    event_id: str
    event_type: str
    service: str
    occurred_at: datetime
    actor: dict[str, Any]
    data: dict[str, Any]


def load_event(body: bytes | str | dict) -> Event:
    """The event in a message body (JSON, or already decoded), envelope and payload validated; an
    event type without a payload schema (a later one) keeps its `data` as sent. Raises `InvalidEvent`."""
    try:
        decoded = json.loads(body) if isinstance(body, (bytes, str)) else body
        envelope = _ENVELOPE.load(decoded)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidEvent({"_body": ["Not UTF-8 JSON."]}) from None
    except ValidationError as exc:
        raise InvalidEvent(field_errors(exc)) from None
    payload = PAYLOADS.get(envelope["event_type"])
    try:
        data = payload.load(envelope["data"]) if payload is not None else envelope["data"]
    except ValidationError as exc:
        raise InvalidEvent({"data": field_errors(exc)}) from None
    return Event(envelope["event_id"], envelope["event_type"], envelope["service"], envelope["occurred_at"],
                 envelope["actor"], data)
