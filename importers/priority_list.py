"""A revision of the national priority list as CSV bytes: (category, name) rows and problems.

Problems are message codes with their parameters; the application words them in the user's
language (``procedures.priority.national_list``). Which categories exist, and how many rows a
list may hold, are the caller's to say.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

#: The longest procedure name accepted, in characters (its message in the application says 500).
MAX_NAME_CHARS = 500

#: A problem: (code, params). Codes: encoding_unknown, columns_missing (columns), category_unknown
#: (line, value), name_empty (line), name_too_long (line), name_twice (line, name, first),
#: no_rows, too_many_rows (max_rows).
ListProblem = tuple[str, dict[str, Any]]


@dataclass
class PriorityListRead:
    """What a CSV revision holds: its rows in order, and every problem found in it."""

    rows: list[tuple[str, str]] = field(default_factory=list)
    problems: list[ListProblem] = field(default_factory=list)


def _decode(content: bytes) -> str | None:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def read_priority_list(
    content: bytes, *, categories: Collection[str], max_rows: int
) -> PriorityListRead:
    """Read (category, name) rows of a list revision, with every problem found, line by line.

    The file is UTF-8 (with or without BOM) or CP932. Lines starting with # before the header
    are comments (the seed names its source there). Without a readable encoding or the header's
    two columns, the one problem is returned and no rows.
    """
    text = _decode(content)
    if text is None:
        return PriorityListRead(problems=[("encoding_unknown", {})])
    lines = text.splitlines()
    start = 0
    while start < len(lines) and (not lines[start].strip() or lines[start].startswith("#")):
        start += 1
    reader = csv.reader(io.StringIO("\n".join(lines[start:])))
    header = [cell.strip().lower() for cell in next(reader, [])]
    missing = [column for column in ("category", "name") if column not in header]
    if missing:
        return PriorityListRead(problems=[("columns_missing", {"columns": missing})])
    category_at, name_at = header.index("category"), header.index("name")
    read = PriorityListRead()
    seen: dict[str, int] = {}
    for offset, cells in enumerate(reader):
        line = start + 2 + offset
        if not any(cell.strip() for cell in cells):
            continue
        category = cells[category_at].strip() if category_at < len(cells) else ""
        name = cells[name_at].strip() if name_at < len(cells) else ""
        if category not in categories:
            read.problems.append(("category_unknown", {"line": line, "value": category}))
        if not name:
            read.problems.append(("name_empty", {"line": line}))
        elif len(name) > MAX_NAME_CHARS:
            read.problems.append(("name_too_long", {"line": line}))
        elif name in seen:
            read.problems.append(("name_twice", {"line": line, "name": name, "first": seen[name]}))
        else:
            seen[name] = line
        read.rows.append((category, name))
    if not read.rows:
        read.problems.append(("no_rows", {}))
    if len(read.rows) > max_rows:
        read.problems.append(("too_many_rows", {"max_rows": max_rows}))
    return read
