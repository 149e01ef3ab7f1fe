"""How alike two identities are: the pure scoring of the registry's identity resolution (EMPI).

An exact identifier decides on its own; demographics only ever make a *candidate*, never a match.

    identifier                                   score   reason
    same ID number (same type, same blind index)  1.00   id_number          -> "matched"
    same 居民健康卡号                              1.00   health_card        -> "matched"
    same insurance card number                    1.00   insurance_card     -> "matched"
    same MRN of the sending hospital              1.00   mrn                -> "matched"

unless the identity sought contradicts the archive a card or MRN names (`contradictions`): a
different ID number of the same type, or both a different sex and a birth date that is not even
a typo of the archive's. Cards are lent within families and MRNs get mis-keyed, so such a hit is
only a candidate scored IDENTIFIER_CONTRADICTED (0.50), its reasons saying why:
`["mrn", "sex_differs", "birth_date_differs"]`. The ID number itself carries the sex and birth
date the archive was checked against when created, so an ID-number hit decides whatever else.

    demographic evidence (added up)              weight  reason
    name, same Chinese characters                 0.35   name
    name, same pinyin, other characters           0.25   name_pinyin        张秀英 / 章秀英
    name, one character differs, other pinyin     0.15   name_similar       张秀英 / 张桂英
    birth date equal                              0.30   birth_date
    birth date off by a typical typo              0.15   birth_date_typo    day and month swapped,
                                                                            or one digit of YYYYMMDD
    sex equal (1 or 2; 0 and 9 say nothing)       0.10   sex
    phone equal (blind index)                     0.20   phone
    both hold an ID number of one type, unequal  -0.40   id_number_differs

At most one name reason and one birth-date reason count, so demographics add up to at most 0.95:
1.0 stays reserved for an identifier. A candidate is proposed from CANDIDATE_THRESHOLD = 0.50 up,
e.g. same pinyin + same birth date (0.55), same name + birth-date typo (0.50), same name + phone
(0.55); a same name and sex alone (0.45), or a shared birth date, sex and nothing else (0.40), is
not. A different ID number of the same type is strong evidence of a different person, since the
GB 11643 check character catches single-digit and adjacent-transposition typos; such a candidate
still shows when everything else agrees (0.95 - 0.40 = 0.55), flagged `id_number_differs`.

`name_similar` is there so that a name mis-keyed by one character can still be found through the
birth-date block (same birth date and sex: 0.55); without it a candidate that shares only the
birth date could never reach the threshold.

Possible duplicates on creation follow the stated rules instead of the threshold (same name, sex
and birth date; same pinyin and birth date; same pinyin and phone): `is_possible_duplicate`. A
phone alone never makes one: a shared phone is a household's, and a candidate list answered on
a phone alone would tell whoever types a number whose it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.identity import identity_namespace

IDENTIFIER_MATCH = 1.0
NAME_EXACT = 0.35
NAME_PINYIN = 0.25
NAME_SIMILAR = 0.15
BIRTH_DATE_EXACT = 0.30
BIRTH_DATE_TYPO = 0.15
SEX = 0.10
PHONE = 0.20
ID_NUMBER_DIFFERS = -0.40
IDENTIFIER_CONTRADICTED = 0.50

CANDIDATE_THRESHOLD = 0.50
MAX_CANDIDATES = 5

KNOWN_SEXES = ("1", "2")


@dataclass(frozen=True, repr=False)
class Identity:
    """One side of a comparison: what is sought, or an archive. No clear ID or phone numbers."""

    name: str | None = None
    name_pinyin: str | None = None
    sex: str | None = None
    birth_date: date | None = None
    phone_index: bytes | None = None
    id_type: str | None = None
    id_index: bytes | None = None
    archive_no: str | None = None
    status: str | None = None
    village_code: str | None = None

    def __repr__(self) -> str:  # names are personal data: keep them out of tracebacks and logs
        return f"Identity(archive_no={self.archive_no!r})"


@dataclass(frozen=True)
class Score:
    value: float
    reasons: tuple[str, ...]

    @property
    def is_identifier_match(self) -> bool:
        return "id_number" in self.reasons


def birth_date_typo(a: date, b: date) -> bool:
    """True when `b` is `a` with day and month swapped, or with one digit of YYYYMMDD changed."""
    if a == b:
        return False
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return True
    return sum(x != y for x, y in zip(f"{a:%Y%m%d}", f"{b:%Y%m%d}")) == 1


def _one_character_differs(a: str, b: str) -> bool:
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b)) == 1


def _name_reason(sought: Identity, archive: Identity) -> tuple[float, str] | None:
    if not sought.name or not archive.name:
        return None
    if sought.name == archive.name:
        return NAME_EXACT, "name"
    if sought.name_pinyin and sought.name_pinyin == archive.name_pinyin:
        return NAME_PINYIN, "name_pinyin"
    if _one_character_differs(sought.name, archive.name):
        return NAME_SIMILAR, "name_similar"
    return None


def _birth_reason(sought: Identity, archive: Identity) -> tuple[float, str] | None:
    if sought.birth_date is None or archive.birth_date is None:
        return None
    if sought.birth_date == archive.birth_date:
        return BIRTH_DATE_EXACT, "birth_date"
    if birth_date_typo(sought.birth_date, archive.birth_date):
        return BIRTH_DATE_TYPO, "birth_date_typo"
    return None


def score(sought: Identity, archive: Identity) -> Score:
    """How alike `archive` is to `sought`; an equal ID number decides alone."""
    if sought.id_index is not None and sought.id_index == archive.id_index:
        return Score(IDENTIFIER_MATCH, ("id_number",))
    found = [_name_reason(sought, archive), _birth_reason(sought, archive)]
    if sought.sex in KNOWN_SEXES and sought.sex == archive.sex:
        found.append((SEX, "sex"))
    if sought.phone_index is not None and sought.phone_index == archive.phone_index:
        found.append((PHONE, "phone"))
    if (sought.id_index is not None and archive.id_index is not None
            and identity_namespace(sought.id_type) == identity_namespace(archive.id_type)):
        found.append((ID_NUMBER_DIFFERS, "id_number_differs"))
    found = [f for f in found if f is not None]
    return Score(round(sum(w for w, _ in found), 2), tuple(reason for _, reason in found))


def contradictions(sought: Identity, archive: Identity) -> tuple[str, ...]:
    """What in `sought` speaks strongly against being the person of `archive`, which a card or an
    MRN named: a different ID number of the same kind (01 and 02 are one); both a different sex and a different birth
    date (a typo of it does not count)."""
    found = []
    if (sought.id_index is not None and archive.id_index is not None
            and identity_namespace(sought.id_type) == identity_namespace(archive.id_type)
            and sought.id_index != archive.id_index):
        found.append("id_number_differs")
    sex_differs = sought.sex in KNOWN_SEXES and archive.sex in KNOWN_SEXES and sought.sex != archive.sex
    birth_differs = (sought.birth_date is not None and archive.birth_date is not None
                     and sought.birth_date != archive.birth_date
                     and not birth_date_typo(sought.birth_date, archive.birth_date))
    if sex_differs and birth_differs:
        found += ["sex_differs", "birth_date_differs"]
    return tuple(found)


def identifier_score(kind: str, contradicted: tuple[str, ...] = ()) -> Score:
    """The score of an archive an exact identifier of `kind` named (see the module doc)."""
    if contradicted:
        return Score(IDENTIFIER_CONTRADICTED, (kind, *contradicted))
    return Score(IDENTIFIER_MATCH, (kind,))


def rank(sought: Identity, archives: list[Identity], limit: int = MAX_CANDIDATES,
         threshold: float = CANDIDATE_THRESHOLD) -> list[tuple[Identity, Score]]:
    """The archives scoring at least `threshold`, best first (ties by archive number), at most `limit`."""
    scored = [(archive, score(sought, archive)) for archive in archives]
    kept = [(a, s) for a, s in scored if s.value >= threshold]
    kept.sort(key=lambda pair: (-pair[1].value, pair[0].archive_no or ""))
    return kept[:limit]


def is_possible_duplicate(result: Score) -> bool:
    """The creation check: same name + sex + birth date; or same pinyin + birth date; or same
    pinyin + phone. A phone without a name never counts (see the module doc).

    An identical name has the same pinyin, so `name` counts as same pinyin here.
    """
    reasons = set(result.reasons)
    same_pinyin = bool(reasons & {"name", "name_pinyin"})
    return ({"name", "sex", "birth_date"} <= reasons
            or (same_pinyin and ("birth_date" in reasons or "phone" in reasons)))
