"""Citizen ID numbers (公民身份号码) per GB 11643-1999.

18 characters: 6-digit address code (GB/T 2260), 8-digit birth date
(YYYYMMDD), 3-digit sequence code (odd = male, even = female) and a check
character computed with ISO 7064:1983 MOD 11-2.  15-digit numbers issued
under GB 11643-1989 are upgraded on input.  Also provides masking helpers
for ID numbers and phone numbers, and the normal form of a person's name.

A masked ID number shows its last four characters only (`**************002X`): digits 7-14 are
the birth date, which every archive serves beside the number, and the first six the address
code, which an archive's village all but gives away, so a mask that showed either would
complete the number.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from shared import clock

# First two digits of GB/T 2260 province-level codes.  71 is Taiwan;
# 81/82/83 are the residence permits for Hong Kong, Macau and Taiwan
# residents.  91 (foreigners' permanent-residence ID) is deliberately absent.
PROVINCE_CODES: frozenset[str] = frozenset(
    [str(n) for n in range(11, 16)]
    + [str(n) for n in range(21, 24)]
    + [str(n) for n in range(31, 38)]
    + [str(n) for n in range(41, 47)]
    + [str(n) for n in range(50, 55)]
    + [str(n) for n in range(61, 66)]
    + ["71", "81", "82", "83"]
)

# W_i = 2^(i-1) mod 11, i counted from the right with the check character at i = 1.
WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"  # indexed by S mod 11

EARLIEST_BIRTH_YEAR = 1880

_RE_15 = re.compile(r"[0-9]{15}")
_RE_17 = re.compile(r"[0-9]{17}")
_RE_18 = re.compile(r"[0-9]{17}[0-9X]")


class InvalidIdNumber(ValueError):
    """An ID number failed validation.

    The message carries only ``reason``: ID numbers are personal data and must
    not leak into logs or error responses through exception text.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, repr=False)
class IdNumber:
    value: str
    birth_date: date
    sex: str
    address_code: str

    def __repr__(self) -> str:
        return f"IdNumber({mask_id_number(self.value)!r})"


def _check_shape(text: str, length: int, pattern: re.Pattern[str]) -> None:
    if len(text) != length:
        raise InvalidIdNumber("wrong length")
    if not pattern.fullmatch(text):
        raise InvalidIdNumber("non-digit characters")


def check_character(first17: str) -> str:
    """Return the MOD 11-2 check character ('0'-'9' or 'X') for 17 digits."""
    _check_shape(first17, 17, _RE_17)
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS))
    return _CHECK_CHARS[total % 11]


def upgrade_15(raw15: str) -> str:
    """Upgrade a 15-digit GB 11643-1989 number to 18 characters."""
    _check_shape(raw15, 15, _RE_15)
    first17 = raw15[:6] + "19" + raw15[6:]
    return first17 + check_character(first17)


def parse_id_number(raw: str, *, today: date | None = None) -> IdNumber:
    """Validate and normalise an ID number (15 or 18 characters)."""
    text = raw.strip().replace("x", "X")
    if len(text) == 15:
        text = upgrade_15(text)
    _check_shape(text, 18, _RE_18)
    if check_character(text[:17]) != text[17]:
        raise InvalidIdNumber("bad check character")
    if text[:2] not in PROVINCE_CODES:
        raise InvalidIdNumber("invalid province code")
    try:
        birth = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise InvalidIdNumber("invalid birth date") from None
    if birth.year < EARLIEST_BIRTH_YEAR:
        raise InvalidIdNumber("birth date before 1880")
    if birth > (today or clock.today()):
        raise InvalidIdNumber("birth date in the future")
    return IdNumber(
        value=text,
        birth_date=birth,
        sex="1" if int(text[16]) % 2 else "2",
        address_code=text[:6],
    )


def check_consistency(
    idn: IdNumber, *, birth_date: date | None, sex: str | None
) -> list[tuple[str, str]]:
    """Compare archive fields with what the ID number encodes.

    Returns (field, message) pairs; empty when consistent.  ``None`` fields
    are skipped, and sex codes other than "1"/"2" (0 unknown, 9 unstated)
    cannot contradict the ID number.
    """
    problems: list[tuple[str, str]] = []
    if birth_date is not None and birth_date != idn.birth_date:
        problems.append(("birth_date", "birth date does not match the ID number"))
    if sex in ("1", "2") and sex != idn.sex:
        problems.append(("sex", "sex does not match the ID number"))
    return problems


def _mask(value: str, keep_head: int, keep_tail: int) -> str:
    hidden = len(value) - keep_head - keep_tail
    return value[:keep_head] + "*" * hidden + value[len(value) - keep_tail :]


def mask_id_number(value: str) -> str:
    """Mask an ID number (or any identity document's number) for display: the last four
    characters only, 11010519491231002X -> **************002X; four or fewer are all hidden."""
    text = value.strip()
    if len(text) <= 4:
        return "*" * len(text)
    return _mask(text, 0, 4)


def mask_phone(value: str) -> str:
    """Mask a phone number: 13800000000 -> 138****0000; others keep the last 2."""
    text = value.strip()
    if len(text) == 11:
        return _mask(text, 3, 4)
    if len(text) <= 2:
        return "*" * len(text)
    return _mask(text, 0, 2)


RESIDENT_ID_TYPE = "01"  # CV02.01.101 居民身份证
# The ID types whose number is the 公民身份号码 (GB 11643): the 居民身份证 (01) and the 居民户口簿
# (02), which prints the same number. Both are validated alike and find the same person.
HOUSEHOLD_REGISTER_ID_TYPE = "02"  # CV02.01.101 居民户口簿: the same 公民身份号码
CITIZEN_ID_TYPES = frozenset({RESIDENT_ID_TYPE, HOUSEHOLD_REGISTER_ID_TYPE})


def identity_namespace(id_type: str | None) -> str:
    """The blind-index namespace of an identity document's number: `id:01` for every type that
    carries the 公民身份号码 (01 居民身份证, 02 居民户口簿: one number, one person), `id:<type>`
    for the others (a passport number says nothing about an ID card's).

        identity_namespace("02") -> "id:01"
        identity_namespace("03") -> "id:03"
    """
    id_type = id_type or RESIDENT_ID_TYPE
    return f"id:{RESIDENT_ID_TYPE}" if id_type in CITIZEN_ID_TYPES else f"id:{id_type}"


def check_identity_document(id_type: str | None, id_number: str | None, *, birth_date: date | None,
                            sex: str | None) -> tuple[str | None, dict[str, list[str]]]:
    """Validate an identity document against the demographics sent with it.

    Returns the normalised number (18 upper-case characters for a 公民身份号码, under ID type 01 or
    02; stripped and upper-cased for other types) and field errors, e.g. `{"id_number": ["Not a valid ID number:
    bad check character."]}` or `{"sex": ["Sex does not match the ID number."]}`. The messages
    never contain the number.
    """
    if not id_number:
        return None, {}
    if (id_type or RESIDENT_ID_TYPE) not in CITIZEN_ID_TYPES:
        return id_number.strip().upper(), {}
    try:
        idn = parse_id_number(id_number)
    except InvalidIdNumber as exc:
        return None, {"id_number": [f"Not a valid ID number: {exc.reason}."]}
    mismatches = check_consistency(idn, birth_date=birth_date, sex=sex)
    return idn.value, {field: [f"{msg[0].upper()}{msg[1:]}."] for field, msg in mismatches}


_SPACES = re.compile(r"\s+")


def normalise_name(value: str) -> str:
    """A person's name as it is stored, compared and sought: NFKC (full-width letters and
    compatibility forms folded), Unicode format characters removed (zero-width spaces and joiners,
    direction marks, the byte-order mark: category Cf, invisible, and able to make one name look
    like two), runs of white space made one space, the ends stripped.

        normalise_name("张\u200b秀英 ") -> "张秀英"
        normalise_name("Ｌｉ  Ｍｉｎｇ") -> "Li Ming"
    """
    text = unicodedata.normalize("NFKC", value)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return _SPACES.sub(" ", text).strip()
