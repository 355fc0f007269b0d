"""The national priority list as editable reference data, with its revisions."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, insert, select, update
from sqlmodel import Session, col

from importers.priority_list import read_priority_list
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


#: The words of each problem importers.priority_list finds, by its code.
_PROBLEM_TEXTS: dict[str, Callable[..., Any]] = {
    "encoding_unknown": lambda: _l("The file is neither UTF-8 nor Shift_JIS text: save it as CSV."),
    "columns_missing": lambda columns: _l(
        "The first row must name the columns category,name; missing: %(columns)s.",
        columns=", ".join(columns),
    ),
    "category_unknown": lambda line, value: _l(
        "Line %(line)d: category %(value)s is not one of %(allowed)s.",
        line=line,
        value=repr(value),
        allowed=", ".join(CATEGORIES),
    ),
    "name_empty": lambda line: _l("Line %(line)d: the name is empty.", line=line),
    "name_too_long": lambda line: _l("Line %(line)d: the name is over 500 characters.", line=line),
    "name_twice": lambda line, name, first: _l(
        "Line %(line)d: %(name)s is listed twice (also on line %(first)d).",
        line=line,
        name=name,
        first=first,
    ),
    "no_rows": lambda: _l("The file has no procedures under its header row."),
    "too_many_rows": lambda max_rows: _l("The list has over %(max)d procedures.", max=max_rows),
}


def parse_priority_csv(content: bytes) -> list[tuple[str, str]]:
    """Read (category, name) rows of a list revision; raise PriorityCsvError listing every problem.

    Lines starting with # before the header are comments (the seed names its source there).
    """
    read = read_priority_list(content, categories=CATEGORIES, max_rows=MAX_ROWS)
    if read.problems:
        raise PriorityCsvError([_PROBLEM_TEXTS[code](**params) for code, params in read.problems])
    return read.rows


def list_items(session: Session, *, include_inactive: bool = False) -> list[PriorityProcedure]:
    """Return the list's procedures in list order (active first)."""
    query = select(PriorityProcedure).order_by(
        col(PriorityProcedure.active).desc(),
        col(PriorityProcedure.position),
        col(PriorityProcedure.id),
    )
    if not include_inactive:
        query = query.where(col(PriorityProcedure.active).is_(True))
    return list(session.execute(query).scalars())


def add_item(session: Session, *, category: str, name: str, revision: str) -> PriorityProcedure:
    """Append a procedure to the active list."""
    last = session.execute(
        select(func.max(col(PriorityProcedure.position))).where(
            col(PriorityProcedure.active).is_(True)
        )
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
    old: dict[str, int] = {}
    for item in list_items(session):
        assert item.id is not None  # a stored item
        old[normalise(item.name)] = item.id
    session.execute(
        update(PriorityProcedure)
        .where(col(PriorityProcedure.active).is_(True))
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
                col(PriorityMatch.procedure_id),
                col(PriorityMatch.score),
                col(PriorityMatch.status),
                col(PriorityMatch.user_id),
                col(PriorityMatch.at),
            ).where(
                col(PriorityMatch.priority_procedure_id) == old_id,
                col(PriorityMatch.status) != MatchStatus.suggested,
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
                col(PriorityMatch.priority_procedure_id).in_(item_ids),
                col(PriorityMatch.status) == MatchStatus.suggested,
            )
        )
