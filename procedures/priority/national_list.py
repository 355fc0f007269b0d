"""The national priority list as editable reference data, with its revisions."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, insert, select, update
from sqlmodel import Session

from procedures.models import (
    MatchStatus,
    PriorityMatch,
    PriorityProcedure,
)

#: The seed: the municipal 27 of the national plan for municipal DX (Dec 2020).
SEED_PATH = Path(__file__).resolve().parent / "data" / "priority_procedures.csv"


#: Categories of the list, in display order.
CATEGORIES = {
    "child_care": _l("Child care"),
    "nursing_care": _l("Nursing care"),
    "disaster": _l("Disaster"),
    "other": _l("Other"),
}


class PriorityCsvError(ValueError):
    """A CSV revision was refused; ``problems`` says what to fix, line by line."""

    def __init__(self, problems: list[str]):
        super().__init__(f"{len(problems)} problems")
        self.problems = problems


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise PriorityCsvError([_l("The file is neither UTF-8 nor Shift_JIS text: save it as CSV.")])


def parse_priority_csv(content: bytes) -> list[tuple[str, str]]:
    """Read (category, name) rows of a list revision; raise PriorityCsvError listing every problem.

    Lines starting with # before the header are comments (the seed names its source there).
    """
    lines = _decode(content).splitlines()
    start = 0
    while start < len(lines) and (not lines[start].strip() or lines[start].startswith("#")):
        start += 1
    reader = csv.reader(io.StringIO("\n".join(lines[start:])))
    header = [cell.strip().lower() for cell in next(reader, [])]
    missing = [column for column in ("category", "name") if column not in header]
    if missing:
        raise PriorityCsvError(
            [
                _l(
                    "The first row must name the columns category,name; missing: %(columns)s.",
                    columns=", ".join(missing),
                )
            ]
        )
    category_at, name_at = header.index("category"), header.index("name")
    rows: list[tuple[str, str]] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for offset, cells in enumerate(reader):
        line = start + 2 + offset
        if not any(cell.strip() for cell in cells):
            continue
        category = cells[category_at].strip() if category_at < len(cells) else ""
        name = cells[name_at].strip() if name_at < len(cells) else ""
        if category not in CATEGORIES:
            problems.append(
                _l(
                    "Line %(line)d: category %(value)s is not one of %(allowed)s.",
                    line=line,
                    value=repr(category),
                    allowed=", ".join(CATEGORIES),
                )
            )
        if not name:
            problems.append(_l("Line %(line)d: the name is empty.", line=line))
        elif len(name) > 500:
            problems.append(_l("Line %(line)d: the name is over 500 characters.", line=line))
        elif name in seen:
            problems.append(
                _l(
                    "Line %(line)d: %(name)s is listed twice (also on line %(first)d).",
                    line=line,
                    name=name,
                    first=seen[name],
                )
            )
        else:
            seen[name] = line
        rows.append((category, name))
    if not rows:
        problems.append(_l("The file has no procedures under its header row."))
    if len(rows) > MAX_ROWS:
        problems.append(_l("The list has over %(max)d procedures.", max=MAX_ROWS))
    if problems:
        raise PriorityCsvError(problems)
    return rows


def list_items(session: Session, *, include_inactive: bool = False) -> list[PriorityProcedure]:
    """Return the list's procedures in list order (active first)."""
    query = select(PriorityProcedure).order_by(
        PriorityProcedure.active.desc(), PriorityProcedure.position, PriorityProcedure.id
    )
    if not include_inactive:
        query = query.where(PriorityProcedure.active.is_(True))
    return list(session.execute(query).scalars())


def add_item(session: Session, *, category: str, name: str, revision: str) -> PriorityProcedure:
    """Append a procedure to the active list."""
    last = session.execute(
        select(func.max(PriorityProcedure.position)).where(PriorityProcedure.active.is_(True))
    ).scalar_one()
    item = PriorityProcedure(
        revision=revision, category=category, position=(last or 0) + 1, name=name.strip()
    )
    session.add(item)
    session.flush()
    return item


def rename_item(session: Session, *, item_id: int, name: str) -> PriorityProcedure:
    """Rename a procedure of the list; its matches stay."""
    item = _item(session, item_id)
    item.name = name.strip()
    session.flush()
    return item


def set_item_active(session: Session, *, item_id: int, active: bool) -> PriorityProcedure:
    """Deactivate (or reactivate) a procedure of the list; its confirmed matches are kept."""
    item = _item(session, item_id)
    item.active = active
    if not active:
        _drop_suggestions(session, [item_id])
    session.flush()
    return item


def load_revision(
    session: Session, *, rows: list[tuple[str, str]], revision: str
) -> list[PriorityProcedure]:
    """Replace the active list with a new revision; old rows stay, inactive.

    Decisions carry over: confirmed and rejected matches of an old procedure are copied to the
    new procedure of the same normalised name.
    """
    old = {normalise(item.name): item.id for item in list_items(session)}
    session.execute(
        update(PriorityProcedure)
        .where(PriorityProcedure.active.is_(True))
        .values(active=False)
        .execution_options(synchronize_session=False)
    )
    _drop_suggestions(session, list(old.values()))
    items = [
        PriorityProcedure(revision=revision, category=category, position=position, name=name)
        for position, (category, name) in enumerate(rows, start=1)
    ]
    session.add_all(items)
    session.flush()
    carried = [
        (old[normalise(item.name)], item.id) for item in items if normalise(item.name) in old
    ]
    for old_id, new_id in carried:
        decisions = session.execute(
            select(
                PriorityMatch.procedure_id,
                PriorityMatch.score,
                PriorityMatch.status,
                PriorityMatch.user_id,
                PriorityMatch.at,
            ).where(
                PriorityMatch.priority_procedure_id == old_id,
                PriorityMatch.status != MatchStatus.suggested,
            )
        ).all()
        if decisions:
            session.execute(
                insert(PriorityMatch),
                [
                    {
                        "procedure_id": procedure_id,
                        "priority_procedure_id": new_id,
                        "score": score,
                        "status": status,
                        "user_id": user_id,
                        "at": at,
                    }
                    for procedure_id, score, status, user_id, at in decisions
                ],
            )
    session.flush()
    return items


def _item(session: Session, item_id: int) -> PriorityProcedure:
    item = session.get(PriorityProcedure, item_id)
    if item is None:
        raise LookupError(item_id)
    return item


#: Largest CSV revision accepted, in rows.
MAX_ROWS = 500


#: Synonyms read as one word before comparing (national word → city word).
SYNONYMS = (("発行", "交付"),)


#: Words and marks that every procedure name carries; removed before comparing.
GENERIC = re.compile(
    r"について|に係る|による|からの|及び|申込み|申請|届出|請求|申出|申込|等|の|届|書|[・/()「」、]"
)


def normalise(name: str) -> str:
    """Return the form of a name that matching compares (see the module docstring)."""
    text = "".join(unicodedata.normalize("NFKC", name).split())
    for national, city in SYNONYMS:
        text = text.replace(national, city)
    return GENERIC.sub("", text)


def _drop_suggestions(session: Session, item_ids: list[int]) -> None:
    if item_ids:
        session.execute(
            delete(PriorityMatch).where(
                PriorityMatch.priority_procedure_id.in_(item_ids),
                PriorityMatch.status == MatchStatus.suggested,
            )
        )
