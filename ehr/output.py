"""How the `ehr` commands print: a table for people, JSON for scripts (`--json` on every command
that lists something prints one JSON array of objects, `[]` when there is nothing)."""

from __future__ import annotations

import json
from typing import Any

import click

json_option = click.option("--json", "as_json", is_flag=True,
                           help="print a JSON array of objects (for scripts) instead of the table")


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def echo_table(items: list[dict], columns: list[str]) -> None:
    if not items:
        click.echo("(none)")
        return
    widths = {c: max(len(c), *(len(str(i.get(c))) for i in items)) for c in columns}
    click.echo("  ".join(c.ljust(widths[c]) for c in columns))
    for item in items:
        click.echo("  ".join(str(item.get(c)).ljust(widths[c]) for c in columns))


def iso(value) -> str | None:
    """A datetime as ISO 8601 (None stays None), for JSON."""
    return value.isoformat() if value is not None else None
