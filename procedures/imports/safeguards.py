"""What an import may do that its clerk does not expect, said before the commit.

Each check returns at most one warning, with a count and the first rows, instead of one line
per row: a figure far above the file's others, a code or a name that another division
already has. The rule for a figure is data (importers/plausibility.json).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from importers.inventory import ParsedRow, Problem
from procedures.catalogue.procedures import name_key
from procedures.models import Division, Lifecycle, Procedure

#: How many row numbers a warning names.
SHOWN_ROWS = 10

_RULES = Path(__file__).resolve().parents[2] / "importers" / "plausibility.json"


@cache
def plausibility() -> dict[str, Any]:
    """Return the plausibility rules (importers/plausibility.json)."""
    with _RULES.open(encoding="utf-8") as handle:
        return json.load(handle)


def rows_text(rows: list[int], count: int) -> str:
    """Return the first row numbers, and an ellipsis when there are more."""
    shown = ", ".join(str(row) for row in rows[:SHOWN_ROWS])
    return shown + (" …" if count > SHOWN_ROWS else "")


def _warning(message: str, rows: list[int], /, **params: Any) -> Problem:
    shown = sorted(rows)
    # "rows" is the text the message shows; "row_numbers" what the preview's table lists.
    params = {
        "count": len(rows),
        "rows": rows_text(shown, len(rows)),
        "row_numbers": shown[:SHOWN_ROWS],
        **params,
    }
    return Problem("warning", message, params)


def implausible_volumes(rows: list[ParsedRow]) -> list[Problem]:
    """Warn of volumes far above the file's others (the rule in plausibility.json)."""
    rule = plausibility()["annual_volume"]
    volumes = [(row.row, row.get("annual_volume")) for row in rows]
    # Volumes above 0: a file where most procedures had no application (the national one)
    # would otherwise have a median of 0 and a rule of "any figure at all".
    known = [volume for _row, volume in volumes if isinstance(volume, int) and volume > 0]
    if len(known) < 2:
        return []
    median = statistics.median(known)
    limit = max(rule["at_least"], rule["times_median"] * median)
    flagged = [row for row, volume in volumes if isinstance(volume, int) and volume > limit]
    if not flagged:
        return []
    return [
        _warning(
            "volume_implausible",
            flagged,
            times=f"{rule['times_median']:,}",
            median=f"{median:,.0f}",
            at_least=f"{rule['at_least']:,}",
        )
    ]


def elsewhere(
    session: Session, new_rows: Iterable[tuple[ParsedRow, str, str | None]]
) -> list[Problem]:
    """Warn of new procedures whose code or name another division already has."""
    new = list(new_rows)
    if not new or session.execute(select(col(Procedure.id)).limit(1)).first() is None:
        return []
    codes: dict[str, tuple[str, str]] = {}
    names: dict[str, tuple[str, str]] = {}
    query = (
        select(
            col(Procedure.code), col(Procedure.name_key), col(Procedure.name), col(Division.name)
        )
        .join(Division, col(Division.id) == col(Procedure.division_id))
        .where(col(Procedure.lifecycle) != Lifecycle.retired)
    )
    for code, key, name, division in session.execute(query):
        if code:
            codes.setdefault(code, (division, code))
        names.setdefault(key, (division, name))
    by_code: list[tuple[int, tuple[str, str]]] = []
    by_name: list[tuple[int, tuple[str, str]]] = []
    for row, division, _department in new:
        code = row.get("code")
        found = codes.get(code) if code else None
        if found is not None and found[0] != division:
            by_code.append((row.row, found))
            continue
        other = names.get(name_key(row.get("name") or ""))
        if other is not None and other[0] != division:
            by_name.append((row.row, other))
    problems = []
    if by_code:
        other_division, other_code = by_code[0][1]
        problems.append(
            _warning(
                "code_in_other_division",
                [r for r, _ in by_code],
                code=other_code,
                other=other_division,
            )
        )
    if by_name:
        other_division, other_name = by_name[0][1]
        problems.append(
            _warning(
                "name_in_other_division",
                [r for r, _ in by_name],
                name=other_name,
                other=other_division,
            )
        )
    return problems
