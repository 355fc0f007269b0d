"""The national priority list (国の優先手続) and matching the city's procedures to it.

The list is reference data, seeded by migration 0005 from procedures/data/priority_procedures.csv
and edited by an admin or replaced by a CSV revision. Matching suggests, a person decides:

* names are normalised (:func:`normalise`): NFKC, no spaces, 発行 read as 交付, and the generic
  words that every procedure name carries removed (等 の 申請 届出 届 請求 申出 申込 書 について
  に係る 及び による からの, brackets, ・ ／ 、), so that 児童手当の認定請求 reads 児童手当認定;
* the score (:func:`match_score`) is the longest common character subsequence (rapidfuzz LCSseq)
  as a share of the city name (weight 0.75) and of the list name (weight 0.25), scaled down when
  fewer than 4 characters are shared: a city name wholly inside a longer national name scores high;
* each city procedure is suggested for its best list item only, when the score reaches
  :data:`SUGGEST_THRESHOLD`; weaker candidates down to :data:`CANDIDATE_FLOOR` are kept and shown
  as weak candidates for list items that have nothing better.

Functions flush, never commit.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l
from rapidfuzz import process
from rapidfuzz.distance import LCSseq
from sqlalchemy import delete, func, insert, select, update
from sqlmodel import Session

from procedures.catalogue import update_procedure
from procedures.models import (
    AuditEvent,
    Division,
    Lifecycle,
    MatchStatus,
    PriorityMatch,
    PriorityProcedure,
    Procedure,
    User,
    utcnow,
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

#: A city procedure whose best score reaches this is suggested.
SUGGEST_THRESHOLD = 72.0
#: Candidates down to this score are kept as weak candidates.
CANDIDATE_FLOOR = 50.0
#: Candidates kept per list item.
CANDIDATES_PER_ITEM = 5
#: Weight of the share of the city name found in the national name (the rest: the reverse share).
CITY_WEIGHT = 0.75
#: Fewer shared characters than this scale the score down (short generic names match anything).
MIN_SHARED = 4
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


def match_score(city: str, national: str, shared: int | None = None) -> float:
    """Score 0–100 how well a normalised city name matches a normalised national name."""
    if not city or not national:
        return 0.0
    if shared is None:
        shared = int(LCSseq.similarity(city, national))
    coverage = CITY_WEIGHT * shared / len(city) + (1 - CITY_WEIGHT) * shared / len(national)
    return round(100 * coverage * min(1.0, shared / MIN_SHARED), 1)


def score_names(
    city: Sequence[tuple[int, str]], national: Sequence[tuple[int, str]]
) -> dict[int, dict[int, float]]:
    """Score every city (id, name) against every national (id, name); keep scores ≥ the floor.

    One rapidfuzz pass per national item over all city names (C loop, LCS cut-off so that
    unrelated names cost nothing in Python): fine for 27 × 75,000.
    """
    city_keys = [normalise(name) for _id, name in city]
    scores: dict[int, dict[int, float]] = {}
    for national_id, national_name in national:
        key = normalise(national_name)
        if not key:
            continue
        hits = process.extract_iter(
            key, city_keys, scorer=LCSseq.similarity, score_cutoff=MIN_SHARED - 1
        )
        for city_key, shared, index in hits:
            score = match_score(city_key, key, int(shared))
            if score >= CANDIDATE_FLOOR:
                scores.setdefault(city[index][0], {})[national_id] = score
    return scores


def best_matches(
    city: Sequence[tuple[int, str]],
    national: Sequence[tuple[int, str]],
    excluded: Iterable[tuple[int, int]] = (),
) -> dict[int, tuple[int, float]]:
    """Return {city id: (national id, score)} of each city procedure's best allowed match."""
    excluded = set(excluded)
    best: dict[int, tuple[int, float]] = {}
    for city_id, by_item in score_names(city, national).items():
        allowed = [
            (score, item) for item, score in by_item.items() if (city_id, item) not in excluded
        ]
        if allowed:
            score, item = max(allowed, key=lambda pair: (pair[0], -pair[1]))
            best[city_id] = (item, score)
    return best


# --- the list -------------------------------------------------------------------------------


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


def _drop_suggestions(session: Session, item_ids: list[int]) -> None:
    if item_ids:
        session.execute(
            delete(PriorityMatch).where(
                PriorityMatch.priority_procedure_id.in_(item_ids),
                PriorityMatch.status == MatchStatus.suggested,
            )
        )


# --- matching -------------------------------------------------------------------------------


def refresh_suggestions(session: Session) -> int:
    """Recompute the stored suggestions for the active list; return how many were stored.

    Reads (id, name) tuples only. Procedures already confirmed for an item, retired procedures
    and rejected pairs are left out; each procedure is suggested for its best item only, and
    each item keeps its best few candidates.
    """
    national = [(item.id, item.name) for item in list_items(session)]
    confirmed = select(PriorityMatch.procedure_id).where(
        PriorityMatch.status == MatchStatus.confirmed
    )
    city = session.execute(
        select(Procedure.id, Procedure.name).where(
            Procedure.lifecycle != Lifecycle.retired, Procedure.id.not_in(confirmed)
        )
    ).all()
    rejected = session.execute(
        select(PriorityMatch.procedure_id, PriorityMatch.priority_procedure_id).where(
            PriorityMatch.status == MatchStatus.rejected
        )
    ).all()
    best = best_matches([tuple(row) for row in city], national, [tuple(row) for row in rejected])
    by_item: dict[int, list[tuple[float, int]]] = {}
    for procedure_id, (item_id, score) in best.items():
        by_item.setdefault(item_id, []).append((score, procedure_id))
    now = utcnow()
    rows = [
        {
            "procedure_id": procedure_id,
            "priority_procedure_id": item_id,
            "score": score,
            "status": MatchStatus.suggested.value,
            "at": now,
        }
        for item_id, candidates in by_item.items()
        for score, procedure_id in sorted(candidates, key=lambda pair: (-pair[0], pair[1]))[
            :CANDIDATES_PER_ITEM
        ]
    ]
    session.execute(delete(PriorityMatch).where(PriorityMatch.status == MatchStatus.suggested))
    if rows:
        session.execute(insert(PriorityMatch), rows)
    session.flush()
    return len(rows)


class MatchStateError(Exception):
    """The match is no longer a suggestion (someone decided it meanwhile); nothing was written."""


def _suggestion(session: Session, match_id: int) -> PriorityMatch:
    match = session.get(PriorityMatch, match_id)
    if match is None:
        raise LookupError(match_id)
    if match.status != MatchStatus.suggested:
        raise MatchStateError(match_id)
    return match


def match_procedure_id(session: Session, match_id: int) -> int | None:
    """Return the city procedure of a match, or None when there is no such match."""
    return session.execute(
        select(PriorityMatch.procedure_id).where(PriorityMatch.id == match_id)
    ).scalar_one_or_none()


def confirm_match(
    session: Session, *, match_id: int, user_id: int | None, expected_version: int
) -> PriorityMatch:
    """Confirm a suggestion: set the procedure's My Number Portal flag, audited and version-checked.

    Raises catalogue.EditConflict when the procedure changed since the page was shown.
    """
    match = _suggestion(session, match_id)
    item = _item(session, match.priority_procedure_id)
    update_procedure(
        session,
        procedure_id=match.procedure_id,
        changes={"mynaportal_eligible": True},
        expected_version=expected_version,
        user_id=user_id,
    )
    match.status = MatchStatus.confirmed
    match.user_id = user_id
    match.at = utcnow()
    session.add(
        AuditEvent(
            procedure_id=match.procedure_id,
            user_id=user_id,
            action="priority_match",
            field="priority_procedure",
            new_value=item.name,
            at=match.at,
        )
    )
    session.flush()
    return match


def reject_match(session: Session, *, match_id: int, user_id: int | None) -> PriorityMatch:
    """Reject a suggestion: it is remembered and not suggested again."""
    match = _suggestion(session, match_id)
    match.status = MatchStatus.rejected
    match.user_id = user_id
    match.at = utcnow()
    session.flush()
    return match


@dataclass
class ItemView:
    """One procedure of the list with its confirmed matches and its candidates."""

    item: PriorityProcedure
    confirmed: list[Any] = field(default_factory=list)
    suggestions: list[Any] = field(default_factory=list)

    @property
    def strong(self) -> list[Any]:
        """Candidates at or above the suggestion threshold."""
        return [row for row in self.suggestions if row.score >= SUGGEST_THRESHOLD]

    @property
    def weak(self) -> list[Any]:
        """Candidates below the threshold."""
        return [row for row in self.suggestions if row.score < SUGGEST_THRESHOLD]


@dataclass
class Overview:
    """The list with its matches, and the gap the national KPI measures."""

    items: list[ItemView]
    suggestions_stored: int

    @property
    def unmatched(self) -> list[ItemView]:
        """List procedures with no confirmed city procedure."""
        return [view for view in self.items if not view.confirmed]


def overview(session: Session) -> Overview:
    """Return the active list with confirmed matches and stored candidates, in list order."""
    views = {item.id: ItemView(item) for item in list_items(session)}
    rows = session.execute(
        select(
            PriorityMatch.id.label("match_id"),
            PriorityMatch.priority_procedure_id,
            PriorityMatch.status,
            PriorityMatch.score,
            PriorityMatch.at,
            Procedure.id.label("procedure_id"),
            Procedure.name,
            Procedure.version,
            Procedure.division_id,
            Procedure.lifecycle,
            Division.name.label("division"),
            User.login,
        )
        .join(Procedure, Procedure.id == PriorityMatch.procedure_id)
        .join(Division, Division.id == Procedure.division_id)
        .outerjoin(User, User.id == PriorityMatch.user_id)
        .where(
            PriorityMatch.priority_procedure_id.in_(list(views)),
            PriorityMatch.status != MatchStatus.rejected,
        )
        .order_by(PriorityMatch.score.desc(), Procedure.id)
    ).all()
    stored = 0
    for row in rows:
        view = views[row.priority_procedure_id]
        if row.status == MatchStatus.confirmed:
            view.confirmed.append(row)
        else:
            view.suggestions.append(row)
            stored += 1
    return Overview(items=list(views.values()), suggestions_stored=stored)
