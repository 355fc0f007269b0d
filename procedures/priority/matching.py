"""Matching city procedures to the national priority list: suggestions a person confirms."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select
from sqlmodel import Session, col

from procedures.catalogue.procedures import update_procedure
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
from procedures.priority.national_list import _item, list_items, normalise

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


def match_score(city: str, national: str, shared: int | None = None) -> float:
    """Score 0–100 how well a normalised city name matches a normalised national name."""
    if not city or not national:
        return 0.0
    if shared is None:
        # Loaded when first used: keeps the CLI's start-up close to the bare framework.
        from rapidfuzz.distance import LCSseq

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
    # Loaded when first used: keeps the CLI's start-up close to the bare framework.
    from rapidfuzz import process
    from rapidfuzz.distance import LCSseq

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


def refresh_suggestions(session: Session) -> int:
    """Recompute the stored suggestions for the active list; return how many were stored.

    Reads (id, name) tuples only. Procedures already confirmed for an item, retired procedures
    and rejected pairs are left out; each procedure is suggested for its best item only, and
    each item keeps its best few candidates.
    """
    national: list[tuple[int, str]] = []
    for item in list_items(session):
        assert item.id is not None  # a stored item
        national.append((item.id, item.name))
    confirmed = select(col(PriorityMatch.procedure_id)).where(
        col(PriorityMatch.status) == MatchStatus.confirmed
    )
    city = session.execute(
        select(col(Procedure.id), col(Procedure.name)).where(
            col(Procedure.lifecycle) != Lifecycle.retired, col(Procedure.id).not_in(confirmed)
        )
    ).all()
    rejected = session.execute(
        select(col(PriorityMatch.procedure_id), col(PriorityMatch.priority_procedure_id)).where(
            col(PriorityMatch.status) == MatchStatus.rejected
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
    session.execute(delete(PriorityMatch).where(col(PriorityMatch.status) == MatchStatus.suggested))
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
        select(col(PriorityMatch.procedure_id)).where(col(PriorityMatch.id) == match_id)
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
            col(PriorityMatch.id).label("match_id"),
            col(PriorityMatch.priority_procedure_id),
            col(PriorityMatch.status),
            col(PriorityMatch.score),
            col(PriorityMatch.at),
            col(Procedure.id).label("procedure_id"),
            col(Procedure.name),
            col(Procedure.version),
            col(Procedure.division_id),
            col(Procedure.lifecycle),
            col(Division.name).label("division"),
            col(User.login),
        )
        .join(Procedure, col(Procedure.id) == PriorityMatch.procedure_id)
        .join(Division, col(Division.id) == Procedure.division_id)
        .outerjoin(User, col(User.id) == PriorityMatch.user_id)
        .where(
            col(PriorityMatch.priority_procedure_id).in_(list(views)),
            col(PriorityMatch.status) != MatchStatus.rejected,
        )
        .order_by(col(PriorityMatch.score).desc(), col(Procedure.id))
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
