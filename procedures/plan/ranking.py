"""The ranking rule: candidates, their scores and their order into yearly places."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session, col

from procedures.catalogue.procedures import blockers_from_column
from procedures.models import (
    Lifecycle,
    OnlineStatus,
    Procedure,
    Verdict,
)

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
        "mynaportal": 0.0,
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


@dataclass(slots=True)
class Candidate:
    """A feasible procedure not yet online, as one tuple from the database."""

    id: int
    code: str | None
    annual_volume: int | None
    mynaportal_eligible: bool
    blockers: list[str]
    life_events: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pin:
    """A person's decision on one procedure: a fixed fiscal year, or None for excluded."""

    fiscal_year: int | None
    reason: str


@dataclass
class RankedEntry:
    """A candidate's place in the plan and the parts of its score."""

    procedure_id: int
    fiscal_year: int
    position: int
    tier: str
    score: float
    parts: list[list[Any]] = field(default_factory=list)
    #: The person's reason when the procedure was pinned to this year.
    pin_reason: str | None = None

    def reason_json(self) -> str:
        """Serialise the explanation; it is rendered in the reader's language."""
        data: dict[str, Any] = {"tier": self.tier, "parts": self.parts}
        if self.pin_reason is not None:
            data["pin"] = self.pin_reason
        return json.dumps(data, ensure_ascii=False)


def tier_key(condition: dict[str, Any]) -> str:
    """Name a tier after its condition: mynaportal, volume_N, or rest."""
    if condition.get("mynaportal_eligible"):
        return "mynaportal"
    if "min_volume" in condition:
        return f"volume_{int(condition['min_volume'])}"
    return "rest"


class ScoreRule:
    """The scoring rule of a policy's weights; the only place where points are decided.

    A score is the sum of its parts, and the parts are what the plan shows a person. The
    parts that do not depend on the volume (portal, blockers, life events) are the same for
    every candidate with the same flags: they are worked out once per distinct combination.
    """

    def __init__(self, weights: dict[str, Any]) -> None:
        self.volume_weight = weights.get("volume", 1.0)
        self.portal_points = weights.get("mynaportal", 0.0)
        self.blocker_points = weights.get("blockers", {})
        self.event_points = weights.get("life_events", {})
        self._fixed: dict[tuple[bool, tuple[str, ...], tuple[str, ...]], list[list[Any]]] = {}

    def volume_points(self, volume: int | None) -> float:
        """Return the volume's points: log10 of the applications a year, weighted; 0 unknown."""
        if volume is None:
            return 0.0
        return round(self.volume_weight * math.log10(volume + 1), 2)

    def volume_part(self, volume: int | None) -> list[Any]:
        """Return the volume's part of a score, as the plan shows it."""
        if volume is None:
            return ["volume_unknown", None, 0.0]
        return ["volume", volume, self.volume_points(volume)]

    def fixed_parts(self, candidate: Candidate) -> list[list[Any]]:
        """Return the parts that do not depend on the volume, with points other than zero."""
        key = (candidate.mynaportal_eligible, tuple(candidate.blockers), candidate.life_events)
        parts = self._fixed.get(key)
        if parts is None:
            parts = self._fixed[key] = self._parts_of_flags(candidate)
        return parts

    def _parts_of_flags(self, candidate: Candidate) -> list[list[Any]]:
        parts: list[list[Any]] = []
        if candidate.mynaportal_eligible and self.portal_points:
            parts.append(["mynaportal", None, self.portal_points])
        for blocker in candidate.blockers:
            points = self.blocker_points.get(blocker, 0.0)
            if points:
                parts.append(["blocker", blocker, points])
        for event in candidate.life_events:
            points = self.event_points.get(event, 0.0)
            if points:
                parts.append(["life_event", event, points])
        return parts

    def parts(self, candidate: Candidate) -> list[list[Any]]:
        """Return every part of the candidate's score: [kind, what, points]."""
        return [self.volume_part(candidate.annual_volume), *self.fixed_parts(candidate)]

    def score(self, candidate: Candidate) -> float:
        """Return the candidate's score: the sum of its parts, rounded to two decimals."""
        return score_of(self.parts(candidate))


def score_of(parts: list[list[Any]]) -> float:
    """Add up the points of a score's parts, in their order, rounded to two decimals."""
    return _added(parts[0][2], parts[1:])


def _added(volume_points: float, fixed_parts: list[list[Any]]) -> float:
    """Add the other parts' points to the volume's, in order, rounded to two decimals."""
    # Ranking adds them without building each candidate's list of parts: only placed
    # candidates get one (75,000 lists for a plan of a few hundred places cost 0.2 s).
    score = volume_points
    for _kind, _what, points in fixed_parts:
        score += points
    return round(score, 2)


def score_candidate(candidate: Candidate, weights: dict[str, Any]) -> tuple[float, list[list]]:
    """Return the candidate's score and its parts: [kind, what, points]."""
    parts = ScoreRule(weights).parts(candidate)
    return score_of(parts), parts


def _tier_index(compiled: list[tuple[bool, Any]], volume: int | None, eligible: bool) -> int | None:
    """Return the index of the first tier whose condition the candidate meets."""
    for index, (needs_portal, min_volume) in enumerate(compiled):
        if needs_portal and not eligible:
            continue
        if min_volume is not None and (volume is None or volume < min_volume):
            continue
        return index
    return None


def rank_candidates(
    candidates: list[Candidate], policy: dict[str, Any], pins: dict[int, Pin] | None = None
) -> list[RankedEntry]:
    """Assign candidates to fiscal years in tier, then score order, until capacities are used.

    Ties are broken by volume (larger first), then code. Unknown volumes rank after known
    ones inside a tier: unknown is never treated as 0. Pinned procedures go first into their
    year and use its capacity (a person may fill a year beyond it); excluded ones are left out.
    """
    pins = pins or {}
    tiers = policy["tiers"]
    rule = ScoreRule(policy["weights"])
    compiled = [
        (bool(tier["condition"].get("mynaportal_eligible")), tier["condition"].get("min_volume"))
        for tier in tiers
    ]
    keyed = []
    pinned: dict[int, list] = {}
    last_tier = len(tiers)
    for candidate in candidates:
        pin = pins.get(candidate.id) if pins else None
        if pin is not None and pin.fiscal_year is None:
            continue
        volume = candidate.annual_volume
        tier_index = _tier_index(compiled, volume, candidate.mynaportal_eligible)
        if tier_index is None and pin is None:
            continue
        fixed = rule.fixed_parts(candidate)
        score = _added(rule.volume_points(volume), fixed)
        sort_key = (
            last_tier if tier_index is None else tier_index,
            volume is None,
            -score,
            -(volume or 0),
            candidate.code or "",
            candidate.id,
        )
        if pin is not None:
            assert pin.fiscal_year is not None  # exclusions were left out above
            pinned.setdefault(pin.fiscal_year, []).append((sort_key, candidate, score, fixed, pin))
        else:
            keyed.append((sort_key, candidate, tier_index, score, fixed))
    keyed.sort(key=lambda item: item[0])
    return _place(policy, rule, keyed, pinned)


def _place(
    policy: dict[str, Any], rule: ScoreRule, keyed: list, pinned: dict[int, list]
) -> list[RankedEntry]:
    """Fill each planned year: its pins first, then the best-ranked until its capacity."""
    tiers = policy["tiers"]
    entries: list[RankedEntry] = []
    queue = iter(keyed)
    policy_years = [year["fiscal_year"] for year in policy["years"]]
    capacities = {year["fiscal_year"]: year["capacity"] for year in policy["years"]}
    # Pins to a year the policy no longer plans stay where the person put them.
    for fiscal_year in policy_years + sorted(set(pinned) - set(policy_years)):
        year_pins = sorted(pinned.get(fiscal_year, []), key=lambda item: item[0])
        position = 0
        for _key, candidate, score, fixed, pin in year_pins:
            parts = [rule.volume_part(candidate.annual_volume), *fixed]
            position += 1
            entries.append(
                RankedEntry(candidate.id, fiscal_year, position, "pinned", score, parts, pin.reason)
            )
        for _ in range(max(capacities.get(fiscal_year, 0) - len(year_pins), 0)):
            item = next(queue, None)
            if item is None:
                break
            position += 1
            _key, candidate, tier_index, score, fixed = item
            parts = [rule.volume_part(candidate.annual_volume), *fixed]
            tier = tiers[tier_index]["key"]
            entries.append(RankedEntry(candidate.id, fiscal_year, position, tier, score, parts))
    return entries


def load_candidates(session: Session) -> list[Candidate]:
    """Read feasible, not retired procedures that are not online yet, as tuples."""
    online = col(Procedure.online_status)
    query = select(
        col(Procedure.id),
        col(Procedure.code),
        col(Procedure.annual_volume),
        col(Procedure.mynaportal_eligible),
        col(Procedure.blockers),
        col(Procedure.life_events),
    ).where(
        col(Procedure.verdict) == Verdict.feasible,
        col(Procedure.lifecycle) != Lifecycle.retired,
        col(Procedure.done_fiscal_year).is_(None),
        or_(online.is_(None), online != OnlineStatus.done),
    )
    # Few distinct blocker columns exist: parse each once.
    parsed: dict[str | None, list[str]] = {}
    events: dict[str | None, tuple[str, ...]] = {}
    candidates = []
    rows = session.connection().execute(query).all()
    for ident, code, volume, eligible, blockers, life_events in rows:
        assert ident is not None  # a primary key
        codes = parsed.get(blockers)
        if codes is None:
            codes = parsed[blockers] = blockers_from_column(blockers)
        names = events.get(life_events)
        if names is None:
            names = events[life_events] = split_life_events(life_events)
        candidates.append(Candidate(ident, code, volume, bool(eligible), codes, names))
    return candidates


def split_life_events(value: str | None) -> tuple[str, ...]:
    """Read the life events stored as "妊娠・出産; 子育て" back into names."""
    return tuple(name.strip() for name in (value or "").split(";") if name.strip())
