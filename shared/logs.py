"""Structured, personal-data-free logging.

Every process logs one JSON object per line (`EHR_LOG_FORMAT=json`, the default), or, for a
person at a terminal, one readable line (`text`: what `ehr up` on a terminal asks its processes
for). Code logs identifiers the suite owns (archive
numbers, record ids, message ids), never names, ID numbers or phones; as a last line of defence
a filter masks anything shaped like an ID number or a mobile number before it is written.

    log = logging.getLogger(__name__)
    log.info("encounter filed", extra={"archive_no": "11010500300100042", "message_id": mid})
    -> {"ts": "...", "level": "INFO", "logger": "...", "msg": "encounter filed", "archive_no": ...}
    -> 12:00:01 INFO  encounter filed archive_no=11010500300100042 message_id=...   (text)
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import traceback

from shared.identity import mask_id_number, mask_phone

# 18-digit IDs (last may be X) and 15-digit IDs, then mainland mobile numbers, each as one run of
# digits or in the groups people write them in, spaced or hyphenated (110105 19491231 002X,
# 110105-1949-1231-002X, 138 0000 0000); a backreference keeps one separator per number, so a
# date (2026-11-20) or a few counts side by side are left alone. Archive numbers are 17 digits and
# are not personal data, so the patterns are bounded to avoid them.
_ID_PATTERN = re.compile(
    r"(?<!\d)(?:\d{17}[\dXx]|\d{15}"
    r"|\d{6}(?P<a>[ -])\d{8}(?P=a)\d{3}[\dXx]"
    r"|\d{6}(?P<b>[ -])\d{4}(?P=b)\d{4}(?P=b)\d{3}[\dXx]"
    r"|\d{6}(?P<c>[ -])\d{6}(?P=c)\d{3})(?![\dXx])")
_PHONE_PATTERN = re.compile(r"(?<!\d)1[3-9]\d(?:\d{8}|(?P<s>[ -])\d{4}(?P=s)\d{4})(?!\d)")
_SEPARATORS = str.maketrans("", "", " -")

_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def scrub(text: str) -> str:
    """Mask ID-number-shaped and phone-shaped digit runs in free text, written whole or in
    groups, the way `mask_id_number` and `mask_phone` mask them everywhere else.

        scrub("身份证 110105 19491231 002X, 电话 138-0000-0000")
        -> "身份证 **************002X, 电话 138****0000"
    """
    text = _ID_PATTERN.sub(lambda m: mask_id_number(m.group().translate(_SEPARATORS)), text)
    return _PHONE_PATTERN.sub(lambda m: mask_phone(m.group().translate(_SEPARATORS)), text)


def format_exception(exc_info) -> str:
    """A traceback fit for the logs. A database error's message quotes the failing statement
    with its values (names, dates: psycopg2 interpolates them), so for those only the error's
    class and SQLSTATE are kept."""
    exc_type, exc, tb = exc_info
    frames = "".join(traceback.format_tb(tb))
    orig = getattr(exc, "orig", None)
    if orig is not None or exc_type.__module__.startswith(("psycopg2", "sqlalchemy")):
        code = getattr(orig, "pgcode", None) or getattr(exc, "pgcode", None) or getattr(exc, "code", None)
        return f"Traceback (most recent call last):\n{frames}{exc_type.__name__} (SQLSTATE {code}; message withheld)"
    return "".join(traceback.format_exception(exc_type, exc, tb))


def _fields(record: logging.LogRecord) -> dict:
    """What the code passed in `extra=`."""
    return {key: value for key, value in vars(record).items()
            if key not in _STANDARD_ATTRS and not key.startswith("_")}


class TextFormatter(logging.Formatter):
    """One readable line: time, level, message, then the key fields as key=value (no JSON, no
    logger name), and a traceback on the lines after, scrubbed like the JSON lines.

        12:00:01 WARN  batch retried error=OperationalError attempt=3
    """

    LEVELS = {"WARNING": "WARN", "CRITICAL": "CRIT"}

    def format(self, record: logging.LogRecord) -> str:
        level = self.LEVELS.get(record.levelname, record.levelname)
        parts = [time.strftime("%H:%M:%S", time.localtime(record.created)), f"{level:<5}", record.getMessage()]
        parts += [f"{key}={_plain(value)}" for key, value in _fields(record).items() if value is not None]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + format_exception(record.exc_info).rstrip()
        return scrub(line)


def _plain(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return json.dumps(text, ensure_ascii=False) if (not text or any(c.isspace() for c in text)) else text


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str = "", process: str = "") -> None:
        super().__init__()
        self.service = service
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if self.service:
            entry["service"] = self.service
        if self.process and self.process != self.service:
            entry["process"] = self.process
        entry.update(_fields(record))
        if record.exc_info:
            entry["exc"] = format_exception(record.exc_info)
        return scrub(json.dumps(entry, ensure_ascii=False, default=str))


def configure_logging(service: str = "", level: str = "INFO", stream=None, fmt: str = "json",
                      process: str = "") -> None:
    """Log to `stream` (stderr) as JSON lines, or as text lines (`fmt="text"`): the process's
    name is not repeated on them, whoever reads them (`ehr up`) prefixes it."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(TextFormatter() if fmt == "text" else JsonFormatter(service, process))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # kombu/amqp at INFO repeat connection URIs and message bodies at DEBUG; keep them quiet.
    for noisy in ("kombu", "amqp", "nameko"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.WARNING))
