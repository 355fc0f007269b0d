"""Ranking candidates into a yearly conversion plan; every place is explained.

The policy is data: planning years with their capacity, ordered tiers with conditions, and
score weights. The default reproduces Fujisawa's order of work (DOMAIN.md). Candidates are
read as plain tuples in one query and ranked in one pass; the plan is written back with one
statement per batch.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, or_, select
from sqlmodel import Session

from procedures.catalogue import blockers_from_column
from procedures.models import Lifecycle, OnlineStatus, PlanEntry, Procedure, Verdict, utcnow

#: Fujisawa's plan: FY2022 My Number Portal procedures, FY2023 1,000+ a year, then the rest.
DEFAULT_POLICY: dict[str, Any] = {
    "years": [
        {"fiscal_year": 2022, "capacity": 401},
        {"fiscal_year": 2023, "capacity": 89},
        {"fiscal_year": 2024, "capacity": 35},
        {"fiscal_year": 2025, "capacity": 198},
    ],
    "tiers": [
        {"key": "mynaportal", "condition": {"mynaportal_eligible": True}},
        {"key": "volume_1000", "condition": {"min_volume": 1000}},
        {"key": "rest", "condition": {}},
    ],
    "weights": {
        "volume": 1.0,
        "blockers": {
            "law_change": -2.0,
            "no_system": -1.0,
            "paper_originals": -0.5,
            "fee_payment": -0.5,
            "seal_signature": -0.5,
            "identity_in_person": -0.5,
            "by_nature": -2.0,
            "cost_benefit": -0.5,
            "other": -0.25,
        },
    },
}


@dataclass
class Candidate:
    """A feasible procedure not yet online, as one tuple from the database."""

    id: int
    code: str | None
    annual_volume: int | None
    mynaportal_eligible: bool
    blockers: list[str]


@dataclass
class RankedEntry:
    """A candidate's place in the plan and the parts of its score."""

    procedure_id: int
    fiscal_year: int
    position: int
    tier: str
    score: float
    parts: list[list[Any]] = field(default_factory=list)

    def reason_json(self) -> str:
        """Serialise the explanation; it is rendered in the reader's language."""
        return json.dumps({"tier": self.tier, "parts": self.parts}, ensure_ascii=False)


def _matches(condition: dict[str, Any], candidate: Candidate) -> bool:
    if "mynaportal_eligible" in condition and (
        candidate.mynaportal_eligible != condition["mynaportal_eligible"]
    ):
        return False
    if "min_volume" in condition:
        volume = candidate.annual_volume
        if volume is None or volume < condition["min_volume"]:
            return False
    return True


def score_candidate(candidate: Candidate, weights: dict[str, Any]) -> tuple[float, list[list]]:
    """Return the candidate's score and its parts: [kind, what, points]."""
    parts: list[list[Any]] = []
    score = 0.0
    if candidate.annual_volume is not None:
        points = round(weights.get("volume", 1.0) * math.log10(candidate.annual_volume + 1), 2)
        parts.append(["volume", candidate.annual_volume, points])
        score += points
    else:
        parts.append(["volume_unknown", None, 0.0])
    for blocker in candidate.blockers:
        points = weights.get("blockers", {}).get(blocker, 0.0)
        if points:
            parts.append(["blocker", blocker, points])
            score += points
    return round(score, 2), parts


def rank_candidates(candidates: list[Candidate], policy: dict[str, Any]) -> list[RankedEntry]:
    """Assign candidates to fiscal years in tier, then score order, until capacities are used.

    Ties are broken by volume (larger first), then code. Unknown volumes rank after known
    ones inside a tier: unknown is never treated as 0.
    """
    tiers = policy["tiers"]
    keyed = []
    for candidate in candidates:
        tier_index = next(
            (index for index, tier in enumerate(tiers) if _matches(tier["condition"], candidate)),
            None,
        )
        if tier_index is None:
            continue
        score, parts = score_candidate(candidate, policy["weights"])
        sort_key = (
            tier_index,
            candidate.annual_volume is None,
            -score,
            -(candidate.annual_volume or 0),
            candidate.code or "",
            candidate.id,
        )
        keyed.append((sort_key, candidate, tiers[tier_index]["key"], score, parts))
    keyed.sort(key=lambda item: item[0])

    entries: list[RankedEntry] = []
    queue = iter(keyed)
    for year in policy["years"]:
        for position in range(1, year["capacity"] + 1):
            item = next(queue, None)
            if item is None:
                return entries
            _key, candidate, tier, score, parts = item
            entries.append(
                RankedEntry(candidate.id, year["fiscal_year"], position, tier, score, parts)
            )
    return entries


def load_candidates(session: Session) -> list[Candidate]:
    """Read feasible, not retired procedures that are not online yet, as tuples."""
    query = select(
        Procedure.id,
        Procedure.code,
        Procedure.annual_volume,
        Procedure.mynaportal_eligible,
        Procedure.blockers,
    ).where(
        Procedure.verdict == Verdict.feasible,
        Procedure.lifecycle != Lifecycle.retired,
        Procedure.done_fiscal_year.is_(None),
        or_(Procedure.online_status.is_(None), Procedure.online_status != OnlineStatus.done),
    )
    return [
        Candidate(row[0], row[1], row[2], bool(row[3]), blockers_from_column(row[4]))
        for row in session.execute(query)
    ]


def recompute_plan(session: Session, policy: dict[str, Any] | None = None) -> list[RankedEntry]:
    """Rank the current candidates and store the result as the current plan."""
    entries = rank_candidates(load_candidates(session), policy or DEFAULT_POLICY)
    connection = session.connection()
    connection.execute(delete(PlanEntry.__table__))
    now = utcnow()
    records = [
        {
            "procedure_id": entry.procedure_id,
            "fiscal_year": entry.fiscal_year,
            "position": entry.position,
            "tier": entry.tier,
            "score": entry.score,
            "reason": entry.reason_json(),
            "computed_at": now,
        }
        for entry in entries
    ]
    for start in range(0, len(records), 1000):
        connection.execute(insert(PlanEntry.__table__), records[start : start + 1000])
    return entries


def planned_counts(session: Session) -> dict[int, int]:
    """Return the number of procedures the current plan assigns to each fiscal year."""
    from sqlalchemy import func

    query = (
        select(PlanEntry.fiscal_year, func.count())
        .join(Procedure, Procedure.id == PlanEntry.procedure_id)
        .where(Procedure.lifecycle != Lifecycle.retired)
        .group_by(PlanEntry.fiscal_year)
        .order_by(PlanEntry.fiscal_year)
    )
    return {year: count for year, count in session.execute(query)}
