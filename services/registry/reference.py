"""Administrative divisions and institutions from CSV (`ehr import reference`): checked whole,
then written in one transaction, or not at all.

    divisions.csv     code,name,level,parent_code[,population]
                      110105,北京市朝阳区,county,
                      110105101,孙河镇,township,110105
                      110105101101,上辛堡村村民委员会,village,110105101,1200
    institutions.csv  code,name,kind,division_code,parent_code
                      T1101051011,孙河镇卫生院,township_centre,110105101,
                      V1101051011,上辛堡村卫生室,village_clinic,110105101101,T1101051011

A county is 6 digits, a township 9 and a village 12 (its last three digits in the ranges of the
archive number: 001-099 residents' committees, 101-199 villagers' committees, 901-999 other); a
parent is the code's own prefix, in the file or already known. An institution's division and
parent institution must be known or in the files. Rows already known are updated (names change,
institutions move up or down the hierarchy); nothing is deleted, since archives point at them.

    check_reference(session, divisions, institutions) -> [{"file": "divisions", "line": 3,
        "errors": {"parent_code": ["Must be the code's own prefix (110105)."]}}]
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.archive_no import InvalidArchiveNumber, parse_village_code

from services.registry.models import Division, Institution
from services.registry.usecases import import_reference_data

LEVEL_DIGITS = {"county": 6, "township": 9, "village": 12}
INSTITUTION_KINDS = ("health_commission", "township_centre", "community_centre", "village_clinic",
                     "community_station", "hospital", "insurer")
DIVISION_COLUMNS = ("code", "name", "level", "parent_code", "population")  # population (常住人口): optional
OPTIONAL_COLUMNS = ("parent_code", "population")
INSTITUTION_COLUMNS = ("code", "name", "kind", "division_code", "parent_code")
DEMO_DIR = Path(__file__).parent / "demo"


def read_rows(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict[str, Any]]]:
    """(line, row) pairs, blank cells as None; ValueError naming missing columns."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in columns if c not in OPTIONAL_COLUMNS and c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path.name}: the header lacks {', '.join(missing)}")
        return [(reader.line_num, {c: ((row.get(c) or "").strip() or None) for c in columns}) for row in reader]


def _division_errors(row: dict[str, Any], known: set[str]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    code, level, parent = row["code"] or "", row["level"], row["parent_code"]
    if not row["name"] or len(row["name"]) > 100:
        errors["name"] = ["Required, at most 100 characters."]
    if level not in LEVEL_DIGITS:
        errors["level"] = [f"One of {', '.join(LEVEL_DIGITS)}."]
    elif not (code.isdigit() and len(code) == LEVEL_DIGITS[level]):
        errors["code"] = [f"A {level} code is {LEVEL_DIGITS[level]} digits."]
    elif level == "village":
        try:
            parse_village_code(code)
        except InvalidArchiveNumber as exc:
            errors["code"] = [f"Not a village code: {exc.reason}."]
    population = row.get("population")
    if population is not None and not (str(population).isdigit() and int(population) <= 10 ** 9):
        errors["population"] = ["常住人口: a whole number, 0 or more."]
    if level in LEVEL_DIGITS and "code" not in errors:
        expected = code[:LEVEL_DIGITS[level] - 3] if level != "county" else None
        if parent != expected:
            errors["parent_code"] = [f"Must be the code's own prefix ({expected})." if expected
                                     else "A county has no parent."]
        elif expected and expected not in known:
            errors["parent_code"] = [f"Unknown division {expected}."]
    return errors


def _institution_errors(row: dict[str, Any], divisions: set[str], institutions: set[str]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    code = row["code"] or ""
    if not (code.isalnum() and code.isascii() and len(code) <= 22):
        errors["code"] = ["Letters and digits, at most 22."]
    if not row["name"] or len(row["name"]) > 100:
        errors["name"] = ["Required, at most 100 characters."]
    if row["kind"] not in INSTITUTION_KINDS:
        errors["kind"] = [f"One of {', '.join(INSTITUTION_KINDS)}."]
    if row["division_code"] not in divisions:
        errors["division_code"] = ["Unknown division."]
    if row["parent_code"] is not None and (row["parent_code"] not in institutions or row["parent_code"] == code):
        errors["parent_code"] = ["Unknown institution."]
    return errors


def check_reference(session: Session, divisions: Iterable[tuple[int, dict]],
                    institutions: Iterable[tuple[int, dict]]) -> list[dict[str, Any]]:
    """Every problem of both files, by file and line; empty when they can be imported."""
    divisions, institutions = list(divisions), list(institutions)
    known_divisions = set(session.scalars(sa.select(Division.code))) | {r["code"] for _, r in divisions if r["code"]}
    known_institutions = set(session.scalars(sa.select(Institution.code))) | {
        r["code"] for _, r in institutions if r["code"]}
    problems = []
    seen: set[str] = set()
    for file, rows, check in (
            ("divisions", divisions, lambda r: _division_errors(r, known_divisions)),
            ("institutions", institutions, lambda r: _institution_errors(r, known_divisions, known_institutions))):
        seen.clear()
        for line, row in rows:
            errors = check(row)
            if row["code"] in seen:
                errors.setdefault("code", []).append("Appears twice in the file.")
            seen.add(row["code"])
            if errors:
                problems.append({"file": file, "line": line, "code": row["code"], "errors": errors})
    return problems


def import_reference(session: Session, divisions: list[tuple[int, dict]],
                     institutions: list[tuple[int, dict]]) -> tuple[int, int]:
    """Check both files; write them in one transaction if nothing is wrong, else ValueError
    carrying the problems (`.args[1]`)."""
    problems = check_reference(session, divisions, institutions)
    if problems:
        raise ValueError(f"{len(problems)} rows are wrong; nothing was imported", problems)
    division_rows = [{**r, "population": int(r["population"]) if r.get("population") is not None else None}
                     for _, r in divisions]
    return import_reference_data(session, division_rows, [r for _, r in institutions])


def has_reference_data(session: Session) -> bool:
    """Whether any division is loaded (the demo county is loaded only into a registry without)."""
    return bool(session.scalar(sa.select(sa.exists().select_from(Division))))


def load_demo_reference_data(session: Session) -> tuple[int, int]:
    """The demo county shipped with the suite, imported and checked like any other files."""
    return import_reference(session, read_rows(DEMO_DIR / "divisions.csv", DIVISION_COLUMNS),
                            read_rows(DEMO_DIR / "institutions.csv", INSTITUTION_COLUMNS))
