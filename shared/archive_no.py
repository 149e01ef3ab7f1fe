"""The 17-digit resident health archive number (健康档案编码).

Defined by 国家基本公共卫生服务规范 (居民健康档案管理服务规范):

* digits 1-6   county-level division code, GB/T 2260;
* digits 7-9   township or subdistrict code, GB/T 10114-2003
  (001-099 街道, 100-199 镇, 200-399 乡, 400-599 政企合一);
* digits 10-12 village or residents' committee, ranges set by the spec itself
  (001-099 居委会, 101-199 村委会, 901-999 其他组织);
* digits 13-17 personal serial number, 00001-99999.

There is no check digit.  Forms print only the last 8 digits (village-serial).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from shared.identity import PROVINCE_CODES

SERIAL_MIN = 1
SERIAL_MAX = 99_999

_RE_6 = re.compile(r"[0-9]{6}")
_RE_12 = re.compile(r"[0-9]{12}")
# The one pattern of an archive number (ASCII digits: `\d` would take any script's digits).
ARCHIVE_NO_PATTERN = r"^[0-9]{17}$"
_RE_17 = re.compile(ARCHIVE_NO_PATTERN)
_RE_3 = re.compile(r"[0-9]{3}")


class InvalidArchiveNumber(ValueError):
    """An archive number or one of its segments failed validation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class VillageKind(enum.Enum):
    RESIDENTS_COMMITTEE = "residents_committee"  # 居委会, 001-099
    VILLAGERS_COMMITTEE = "villagers_committee"  # 村委会, 101-199
    OTHER = "other"  # 其他组织, 901-999


def village_kind(code3: str) -> VillageKind:
    """Classify a 3-digit village segment; 000, 100 and 200-900 are invalid."""
    if not _RE_3.fullmatch(code3):
        raise InvalidArchiveNumber("invalid village code")
    n = int(code3)
    if 1 <= n <= 99:
        return VillageKind.RESIDENTS_COMMITTEE
    if 101 <= n <= 199:
        return VillageKind.VILLAGERS_COMMITTEE
    if 901 <= n <= 999:
        return VillageKind.OTHER
    raise InvalidArchiveNumber("invalid village code")


def _validate_county(code6: str) -> None:
    if not _RE_6.fullmatch(code6) or code6[:2] not in PROVINCE_CODES:
        raise InvalidArchiveNumber("invalid county code")


def _validate_township(code3: str) -> None:
    if not _RE_3.fullmatch(code3) or not 1 <= int(code3) <= 599:
        raise InvalidArchiveNumber("invalid township code")


def _validate_serial(serial: int) -> None:
    # bool is an int subclass; True must not silently become serial 00001.
    if isinstance(serial, bool) or not isinstance(serial, int):
        raise InvalidArchiveNumber("invalid serial")
    if not SERIAL_MIN <= serial <= SERIAL_MAX:
        raise InvalidArchiveNumber("serial out of range")


@dataclass(frozen=True)
class ArchiveNumber:
    county: str
    township: str
    village: str
    serial: int

    def __post_init__(self) -> None:
        _validate_county(self.county)
        _validate_township(self.township)
        village_kind(self.village)
        _validate_serial(self.serial)

    @property
    def value(self) -> str:
        return f"{self.village_code}{self.serial:05d}"

    @property
    def village_code(self) -> str:
        return f"{self.county}{self.township}{self.village}"

    @property
    def jurisdiction(self) -> str:
        return f"{self.county}.{self.township}.{self.village}"

    @property
    def form_number(self) -> str:
        """The 8 digits printed on forms as 编号□□□-□□□□□."""
        return f"{self.village}-{self.serial:05d}"

    def __str__(self) -> str:
        return self.value


def parse_village_code(raw12: str) -> tuple[str, str, str]:
    """Split and validate a 12-digit village code into (county, township, village)."""
    text = raw12.strip()
    if len(text) != 12:
        raise InvalidArchiveNumber("wrong length")
    if not _RE_12.fullmatch(text):
        raise InvalidArchiveNumber("non-digit characters")
    county, township, village = text[:6], text[6:9], text[9:]
    _validate_county(county)
    _validate_township(township)
    village_kind(village)
    return county, township, village


def parse_archive_number(raw: str) -> ArchiveNumber:
    """Validate a 17-digit archive number."""
    text = raw.strip()
    if len(text) != 17:
        raise InvalidArchiveNumber("wrong length")
    if not _RE_17.fullmatch(text):
        raise InvalidArchiveNumber("non-digit characters")
    county, township, village = parse_village_code(text[:12])
    return ArchiveNumber(county, township, village, int(text[12:]))


def make_archive_number(village_code12: str, serial: int) -> ArchiveNumber:
    """Build the archive number for the ``serial``-th resident of a village."""
    county, township, village = parse_village_code(village_code12)
    return ArchiveNumber(county, township, village, serial)


def routing_key_for(archive: ArchiveNumber, record_type: str) -> str:
    """Topic routing key, so consumers can bind per county, township or village."""
    # '*' and '#' are AMQP topic wildcards and would corrupt bindings.
    if not record_type or any(c in record_type for c in "*# \t\r\n"):
        raise ValueError("record_type must be a non-empty word without wildcards")
    return f"archive.{archive.jurisdiction}.{record_type}"


def archive_numbers(archive: dict) -> list[str]:
    """Every number that leads to an archive (as the registry's `get_archive` answers it): its
    own, those it had before transfers, and those of the archives merged into it."""
    return [archive["archive_no"], *(archive.get("former_archive_nos") or ()),
            *(archive.get("merged_archive_nos") or ())]
