"""The programmes' schedules as data, and the one function that turns a resident's filed services
into what is due next: plain Python, no database, so each rule is unit-tested on its own.

Each programme owes one or more services (`SCHEDULES`); each service is satisfied by records whose
programme facts name it (`satisfied_by`, optionally only of some record types). Due dates are
computed from the records as they now stand, so an integrated (多病共管) visit satisfies every
programme it names, a follow-up filed from a hospital visit counts like any other, and an amended
or struck-out record moves the schedule back.

The rules (domain.md §5; the numbers in `RULES`, one table, [M] where the specification does not
give them):

- hypertension, type 2 diabetes: at least 4 face-to-face (门诊 or 家庭, not 电话) follow-ups a
  year [S]: the next is due 90 days after the last face-to-face one [M], or on the next-visit date
  the last follow-up set when that is earlier [M]; none yet: 14 days after enrolment [M].
- 此次随访分类 2 控制不满意 or 3 不良反应: a re-visit within 2 weeks [S].
- two consecutive 控制不满意, or 4 并发症 (new or worse complications): refer, and follow up within
  2 weeks [S]; `referral_suggested` is announced.
- an urgent-referral trigger (`ProgrammeFactsSchema.urgent`) on the last follow-up, or on a hospital
  encounter since it: flagged urgent, at the top of the work list, followed up within 2 weeks [S];
  `referral_suggested` is announced. The next follow-up without a trigger clears the flag.
- a back-referral (the hospital's 回转单, record type `referral_back`) since the last follow-up:
  followed up within 2 weeks of it [S: "follow up within 2 weeks" of a referral]; the next
  follow-up settles it.
- the elderly: the annual check (a 健康体检表 naming `elderly`) and the 中医药 service (a record
  naming `elderly_tcm`) once a year each [S]: due 365 days after the last one [M]; none yet: 30
  days after enrolment [M].

    due = compute(SCHEDULES["hypertension"][0], "hypertension", facts, enrolled_on=date(2026, 1, 5))
    due.due_date, due.reason, due.urgent      # date(2026, 4, 5), "routine", False

Part 2 (children 0-6, maternal care, severe mental disorders, tuberculosis) adds entries to
`SCHEDULES` with kinds of their own (visits at ages, weeks of pregnancy, risk-graded intervals).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from shared import follow_ups

# 此次随访分类 and the visit methods that are face to face: the forms' code lists (shared.follow_ups).
SATISFACTORY, UNSATISFACTORY, ADVERSE_REACTION, COMPLICATIONS = (
    c.value for c in follow_ups.FollowUpClassification)
FACE_TO_FACE_METHODS = follow_ups.FACE_TO_FACE  # 1 门诊, 2 家庭; 3 电话 is not face to face

CHRONIC, ANNUAL = "chronic", "annual"
BACK_REFERRAL = "referral_back"  # the 回转单 records files for a referral's back-referral


@dataclass(frozen=True)
class Rules:
    """Every number the schedules use, in one place ([M]: chosen where the specification is silent)."""

    routine_days: int = 90              # [M] "every ~3 months" for ≥4 face-to-face follow-ups a year
    first_follow_up_days: int = 14      # [M] the first follow-up after enrolment
    revisit_days: int = 14              # [S] re-visit within 2 weeks
    referral_follow_up_days: int = 14   # [S] follow up within 2 weeks of a referral
    consecutive_for_referral: int = 2   # [S] two consecutive unsatisfactory readings
    min_face_to_face_per_year: int = 4  # [S] 规范管理: at least 4 face-to-face follow-ups in the year
    annual_days: int = 365              # [M] once a year, counted from the last one
    first_annual_days: int = 30         # [M] the first annual service after enrolment
    due_soon_days: int = 7              # [M] "due this week": within the next 7 days
    # The targets (BP < 140/90, < 150/90 from 65; fasting glucose < 7.0) are the forms' own:
    # shared.follow_ups.on_target, one table for the 控制满意 of a form and the control rates here.


RULES = Rules()


@dataclass(frozen=True)
class ServiceRule:
    """One service a programme owes: satisfied by records naming `satisfied_by` among their
    programmes (and of one of `record_types`, when given)."""

    service: str
    label: str
    satisfied_by: str
    kind: str
    record_types: tuple[str, ...] | None = None


SCHEDULES: dict[str, tuple[ServiceRule, ...]] = {
    "hypertension": (ServiceRule("follow_up", "高血压患者随访", "hypertension", CHRONIC),),
    "type2_diabetes": (ServiceRule("follow_up", "2型糖尿病患者随访", "type2_diabetes", CHRONIC),),
    "elderly": (ServiceRule("annual_check", "老年人健康体检", "elderly", ANNUAL, ("health_exam",)),
                ServiceRule("tcm", "老年人中医药健康管理", "elderly_tcm", ANNUAL)),
}
CHRONIC_PROGRAMMES = frozenset(p for p, rules in SCHEDULES.items() if any(r.kind == CHRONIC for r in rules))

# Why something is due, as the work list says it.
REASONS: dict[str, str] = {
    "first_follow_up": "纳入管理后首次随访",
    "routine": "季度面对面随访（每年至少4次）",
    "next_visit_date": "上次随访约定的下次随访日期",
    "revisit_unsatisfactory": "控制不满意，2周内复诊",
    "revisit_adverse_reaction": "药物不良反应，2周内复诊",
    "referral_two_unsatisfactory": "连续两次控制不满意：建议转诊，2周内随访",
    "referral_complications": "出现新的并发症或原有并发症加重：建议转诊，2周内随访",
    "urgent_referral": "紧急转诊指征，2周内主动随访",
    "back_referral": "上级医院已回转，2周内随访",
    "first_annual": "纳入管理后首次年度服务",
    "annual": "年度服务（每年1次）",
}

# What `referral_suggested` says of why.
REFERRAL_URGENT, REFERRAL_TWO_UNSATISFACTORY, REFERRAL_COMPLICATIONS = "urgent", "two_unsatisfactory", "complications"


@dataclass(frozen=True)
class Fact:
    """One record's facts for the schedules (a `service_records` row): `classifications` per
    programme; `urgent` the triggers it met."""

    record_id: str
    record_type: str
    visit_date: date
    programmes: tuple[str, ...] = ()
    classifications: dict[str, str] = field(default_factory=dict)
    visit_method: str | None = None
    next_visit_date: date | None = None
    urgent: tuple[str, ...] = ()

    @property
    def face_to_face(self) -> bool:
        """门诊 or 家庭; a record without a visit method (a 健康体检表) is face to face by nature."""
        return self.visit_method is None or self.visit_method in FACE_TO_FACE_METHODS


@dataclass(frozen=True)
class Due:
    """What a schedule's state is after the facts: when the next service is due and why, the last
    service, the run of unsatisfactory readings, the urgent flag and its triggers, and the
    referrals the last record calls for."""

    due_date: date
    reason: str
    last_date: date | None = None
    last_record_id: str | None = None
    last_face_to_face: date | None = None
    consecutive_unsatisfactory: int = 0
    urgent: bool = False
    urgent_triggers: tuple[str, ...] = ()
    urgent_record_id: str | None = None
    referrals: tuple[str, ...] = ()


def satisfies(rule: ServiceRule, fact: Fact) -> bool:
    return rule.satisfied_by in fact.programmes and (rule.record_types is None or fact.record_type in rule.record_types)


def compute(rule: ServiceRule, programme: str, facts: Iterable[Fact], enrolled_on: date, rules: Rules = RULES) -> Due:
    """The state of `rule`'s schedule in `programme` from the resident's records (any order)."""
    ordered = sorted(facts, key=lambda f: (f.visit_date, f.record_id))
    mine = [f for f in ordered if satisfies(rule, f)]
    if rule.kind == ANNUAL:
        return _annual(mine, enrolled_on, rules)
    return _chronic(programme, mine, ordered, enrolled_on, rules)


def _annual(mine: list[Fact], enrolled_on: date, rules: Rules) -> Due:
    if not mine:
        return Due(enrolled_on + timedelta(days=rules.first_annual_days), "first_annual")
    last = mine[-1]
    return Due(last.visit_date + timedelta(days=rules.annual_days), "annual", last.visit_date, last.record_id,
               last.visit_date)


def consecutive_unsatisfactory(programme: str, mine: list[Fact]) -> int:
    """How many of the latest classified follow-ups in a row were 2 控制不满意 (unclassified ones,
    a phone call without readings say, neither count nor break the run)."""
    run = 0
    for fact in reversed(mine):
        code = fact.classifications.get(programme)
        if code is None:
            continue
        if code != UNSATISFACTORY:
            break
        run += 1
    return run


def _chronic(programme: str, mine: list[Fact], everything: list[Fact], enrolled_on: date, rules: Rules) -> Due:
    face = [f for f in mine if f.face_to_face]
    last = mine[-1] if mine else None
    last_face = face[-1].visit_date if face else None
    if last_face is not None:
        due, reason = last_face + timedelta(days=rules.routine_days), "routine"
    else:
        due, reason = enrolled_on + timedelta(days=rules.first_follow_up_days), "first_follow_up"

    def sooner(candidate: date, why: str) -> None:
        nonlocal due, reason
        if candidate < due:
            due, reason = candidate, why

    run, referrals = 0, []
    if last is not None:
        if last.next_visit_date is not None and last.next_visit_date > last.visit_date:
            sooner(last.next_visit_date, "next_visit_date")
        code = last.classifications.get(programme)
        run = consecutive_unsatisfactory(programme, mine)
        # What the last classification calls for explains the due date, whichever is sooner.
        if run >= rules.consecutive_for_referral:
            referrals.append(REFERRAL_TWO_UNSATISFACTORY)
            due, reason = min(due, last.visit_date + timedelta(days=rules.referral_follow_up_days)), \
                "referral_two_unsatisfactory"
        elif code == COMPLICATIONS:
            referrals.append(REFERRAL_COMPLICATIONS)
            due, reason = min(due, last.visit_date + timedelta(days=rules.referral_follow_up_days)), \
                "referral_complications"
        elif code in (UNSATISFACTORY, ADVERSE_REACTION):
            due = min(due, last.visit_date + timedelta(days=rules.revisit_days))
            reason = "revisit_unsatisfactory" if code == UNSATISFACTORY else "revisit_adverse_reaction"

    # An urgent trigger on the last follow-up, or on a hospital encounter (no programme) since it.
    own = {f.record_id for f in mine}
    flagged = [f for f in everything if f.urgent and (f.record_id in own or not f.programmes)
               and (last is None or f.visit_date >= last.visit_date)]
    urgent = flagged[-1] if flagged else None
    if urgent is not None:
        referrals.insert(0, REFERRAL_URGENT)
        due, reason = min(due, urgent.visit_date + timedelta(days=rules.referral_follow_up_days)), "urgent_referral"
    # A hospital's 回转单 since the last follow-up: the referring doctor follows up within 2 weeks.
    back = [f for f in everything if f.record_type == BACK_REFERRAL and (last is None or f.visit_date > last.visit_date)]
    if back:
        sooner(back[-1].visit_date + timedelta(days=rules.referral_follow_up_days), "back_referral")
    return Due(due, reason, last.visit_date if last else None, last.record_id if last else None, last_face, run,
               urgent is not None, tuple(urgent.urgent) if urgent else (), urgent.record_id if urgent else None,
               tuple(referrals))


def due_window(due_date: date | None, today: date, rules: Rules = RULES) -> str | None:
    """Where a due date stands today: "overdue", "due" (within `due_soon_days`) or None (later)."""
    if due_date is None:
        return None
    if due_date < today:
        return "overdue"
    if due_date < today + timedelta(days=rules.due_soon_days):
        return "due"
    return None


def age_on(birth_date: date, day: date) -> int:
    """Completed years on `day`."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def on_target(programme: str, sbp: int | None, dbp: int | None, fbg: float | None, age: int | None) -> bool | None:
    """Whether a follow-up's readings meet the programme's target (None: not measured, or a
    programme without one), for the control rates (血压控制率, 血糖控制率): shared.follow_ups' rule."""
    if programme not in follow_ups.FOLLOW_UP_PROGRAMMES:
        return None
    return follow_ups.on_target(programme, follow_ups.Readings(sbp=sbp, dbp=dbp, fbg=fbg), age)
