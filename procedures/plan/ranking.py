"""The ranking rule: candidates, their scores and their order into yearly places."""

from __future__ import annotations

import gc
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlmodel import Session, col

from importers.steps import decode
from procedures.catalogue.procedures import blockers_from_column
from procedures.catalogue.steps import missing_step
from procedures.models import (
    Lifecycle,
    OnlineStatus,
    Procedure,
    Verdict,
)

#: Fujisawa's yearly capacities (FY2022–FY2025 in its plan): the default plan's first four years.
FUJISAWA_CAPACITIES = (401, 89, 35, 198)

#: Fujisawa's order of work: My Number Portal procedures, then 1,000+ a year, then the rest.
#: The years are not fixed here: `default_policy` starts them at the current fiscal year.
DEFAULT_POLICY: dict[str, Any] = {
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
        # Both options of complete online are off by default: the plan stays Fujisawa's.
        "volume_basis": "annual",
        "one_step": 0.0,
    },
}

#: What the volume part of a score counts: every application a year (the default), or those a
#: conversion would move online (the applications a year not made online yet).
VOLUME_BASES = ("annual", "moved_online")


def default_policy(first_year: int) -> dict[str, Any]:
    """Return the default policy with Fujisawa's four capacities from `first_year` on."""
    years = [
        {"fiscal_year": first_year + offset, "capacity": capacity}
        for offset, capacity in enumerate(FUJISAWA_CAPACITIES)
    ]
    return {**DEFAULT_POLICY, "years": years}


def planned_years(policy: dict[str, Any], current_year: int | None) -> list[dict[str, int]]:
    """Return the policy's years that can still be planned: the current fiscal year onward."""
    return [
        year
        for year in policy["years"]
        if current_year is None or year["fiscal_year"] >= current_year
    ]


@dataclass(slots=True)
class Candidate:
    """A feasible procedure not yet online, as one tuple from the database."""

    id: int
    code: str | None
    annual_volume: int | None
    mynaportal_eligible: bool
    blockers: list[str]
    life_events: tuple[str, ...] = ()
    #: The fiscal year its division or the DX office set as its target (目標年度).
    target_fiscal_year: int | None = None
    #: Of its applications a year, those made online and those by any other channel.
    online_volume: int | None = None
    offline_volume: int | None = None
    #: The one offline step whose going online would complete it (catalogue.steps.missing_step).
    missing_step: str | None = None


@dataclass(frozen=True)
class Pin:
    """A person's decision on one procedure: a fixed fiscal year, or None for excluded."""

    fiscal_year: int | None
    reason: str


class FlagParts:
    """The score parts that do not depend on the volume, shared by candidates with the same flags.

    `json` is the parts written once as JSON list items, so that each placed candidate's stored
    reason is put together from strings instead of serialised again.
    """

    __slots__ = ("parts", "total", "json")

    def __init__(self, parts: list[list[Any]]) -> None:
        self.parts = parts
        self.total = 0.0
        for _kind, _what, points in parts:
            self.total += points
        self.json = "".join(", " + json.dumps(part, ensure_ascii=False) for part in parts)


@dataclass(slots=True)
class RankedEntry:
    """A candidate's place in the plan and what its score is made of."""

    procedure_id: int
    fiscal_year: int
    position: int
    #: The policy tier that placed it, or "pinned" (a person's pin) or "target" (its target year).
    tier: str
    score: float
    volume: int | None
    volume_points: float
    flags: FlagParts
    #: For a pin: {"pin": reason}; for a target: {"target": year}; "passed": the year set, when
    #: it has passed and the procedure is placed in the current year instead.
    placed_by: dict[str, Any] | None = None
    #: Which figure `volume` is (ScoreRule.scored_volume): "volume", every application a year.
    volume_kind: str = "volume"

    @property
    def parts(self) -> list[list[Any]]:
        """Return every part of the score: [kind, what, points], the volume's first."""
        return [volume_part(self.volume, self.volume_points, self.volume_kind), *self.flags.parts]

    def reason_json(self) -> str:
        """Serialise the explanation; it is rendered in the reader's language (plan.reasons)."""
        if self.placed_by is not None:
            data = {"tier": self.tier, "parts": self.parts, **self.placed_by}
            return json.dumps(data, ensure_ascii=False)
        # 75,000 of these are written by a recompute: put together from strings (json.dumps
        # of each was 0.4 s of CPU), in the very form json.dumps gives.
        volume = "null" if self.volume is None else self.volume
        kind = "volume_unknown" if self.volume is None else self.volume_kind
        return (
            f'{{"tier": "{self.tier}", "parts": [["{kind}", {volume}, '
            f"{self.volume_points!r}]{self.flags.json}]}}"
        )


def volume_part(volume: int | None, points: float, kind: str = "volume") -> list[Any]:
    """Return the volume's part of a score, as the plan shows it (kind: ScoreRule.scored_volume)."""
    if volume is None:
        return ["volume_unknown", None, 0.0]
    return [kind, volume, points]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while tens of thousands of tuples are built.

    Every 700 new containers start a collection, and the older generations are walked again
    and again as the lists grow: 0.13 s of the 0.33 s that ranking 75,000 candidates took.
    Nothing built here forms a cycle: reference counting frees it all as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def tier_key(condition: dict[str, Any]) -> str:
    """Name a tier after its condition: mynaportal, volume_N, or rest."""
    if condition.get("mynaportal_eligible"):
        return "mynaportal"
    if "min_volume" in condition:
        return f"volume_{int(condition['min_volume'])}"
    return "rest"


class ScoreRule:
    """The scoring rule of a policy's weights; the only place where points are decided.

    A score is the sum of its parts, and the parts are what the plan shows a person, each as a
    sentence (procedures/plan/reasons.py has one for every kind of part below). The parts
    that do not depend on the volume (portal, blockers, life events, the one step from
    complete) are the same for every candidate with the same flags: they are worked out once
    per distinct combination.
    """

    def __init__(self, weights: dict[str, Any]) -> None:
        self.volume_weight = weights.get("volume", 1.0)
        self.portal_points = weights.get("mynaportal", 0.0)
        self.blocker_points = weights.get("blockers", {})
        self.event_points = weights.get("life_events", {})
        self.moved_online = weights.get("volume_basis") == "moved_online"
        self.one_step_points = weights.get("one_step", 0.0)
        self._flags: dict[tuple[bool, tuple[str, ...], tuple[str, ...], str | None], FlagParts] = {}
        self._volumes: dict[int | None, float] = {None: 0.0}

    def scored_volume(self, candidate: Candidate) -> tuple[str, int | None]:
        """Return which figure the volume part counts, and the figure (None: not known).

        By default every application a year ("volume"). Ranked by the applications moved
        online: the applications a year not made online as recorded ("offline_volume"), else
        all of them less those made online ("offline_difference"), else all of them, the split
        not being known ("volume_not_split").
        """
        annual = candidate.annual_volume
        if not self.moved_online:
            return "volume", annual
        if candidate.offline_volume is not None:
            return "offline_volume", candidate.offline_volume
        if annual is not None and candidate.online_volume is not None:
            # More online than in all is a slip of the sheet: nothing is left to move.
            return "offline_difference", max(annual - candidate.online_volume, 0)
        return "volume_not_split", annual

    def volume_points(self, volume: int | None) -> float:
        """Return the volume's points: log10 of the applications a year, weighted; 0 unknown."""
        points = self._volumes.get(volume)
        if points is None:
            assert volume is not None  # None is in the cache from the start
            points = self._volumes[volume] = round(self.volume_weight * math.log10(volume + 1), 2)
        return points

    def flag_parts(self, candidate: Candidate) -> FlagParts:
        """Return the parts that do not depend on the volume, with points other than zero."""
        key = (
            candidate.mynaportal_eligible,
            tuple(candidate.blockers),
            candidate.life_events,
            candidate.missing_step,
        )
        flags = self._flags.get(key)
        if flags is None:
            flags = self._flags[key] = FlagParts(self._parts_of_flags(candidate))
        return flags

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
        if candidate.missing_step is not None and self.one_step_points:
            parts.append(["one_step", candidate.missing_step, self.one_step_points])
        return parts

    def parts(self, candidate: Candidate) -> list[list[Any]]:
        """Return every part of the candidate's score: [kind, what, points]."""
        kind, volume = self.scored_volume(candidate)
        return [
            volume_part(volume, self.volume_points(volume), kind),
            *self.flag_parts(candidate).parts,
        ]

    def score(self, candidate: Candidate) -> float:
        """Return the candidate's score: the sum of its parts, rounded to two decimals."""
        volume = self.scored_volume(candidate)[1]
        return round(self.volume_points(volume) + self.flag_parts(candidate).total, 2)


def score_candidate(candidate: Candidate, weights: dict[str, Any]) -> tuple[float, list[list]]:
    """Return the candidate's score and its parts: [kind, what, points]."""
    rule = ScoreRule(weights)
    return rule.score(candidate), rule.parts(candidate)


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
    candidates: list[Candidate],
    policy: dict[str, Any],
    pins: dict[int, Pin] | None = None,
    *,
    current_year: int | None = None,
    done: dict[int, int] | None = None,
) -> list[RankedEntry]:
    """Assign candidates to fiscal years in tier, then score order, until capacities are used.

    Ties are broken by the volume scored (larger first), then code. Unknown volumes rank after
    known ones inside a tier: unknown is never treated as 0. Only the policy's years from
    `current_year` on are planned (all of them without it), and a year's capacity is used
    first by the procedures `done` in it ({year: count}). Before the ranked ones a year takes
    the procedures pinned to it (a person may fill a year beyond its capacity), then those
    whose target fiscal year it is; a pin or target beyond the policy's years adds that year,
    and one whose year has passed goes into the current year. Excluded ones are left out.
    """
    with collector_paused():
        tiers = policy["tiers"]
        ranked, placed = _ranked_items(candidates, policy, pins or {}, current_year)
        return _place(tiers, planned_years(policy, current_year), ranked, placed, done or {})


def _ranked_items(
    candidates: list[Candidate],
    policy: dict[str, Any],
    pins: dict[int, Pin],
    current_year: int | None,
) -> tuple[list[tuple], dict[int, list[tuple]]]:
    """Return the ranked candidates, sorted, and the pinned or targeted ones by year."""
    tiers = policy["tiers"]
    rule = ScoreRule(policy["weights"])
    compiled = [
        (bool(tier["condition"].get("mynaportal_eligible")), tier["condition"].get("min_volume"))
        for tier in tiers
    ]
    # One pass of look-ups: the volume's points and tier by (volume, portal), the flags' parts
    # by the flags, each worked out once (75,000 candidates have a few thousand of each).
    # The tier is always the annual volume's; ranked by the applications moved online, the
    # points are those of the figure scored_volume chooses.
    by_volume: dict[tuple[int | None, bool], tuple[float, int | None]] = {}
    flag_parts = rule.flag_parts
    moved_online = rule.moved_online
    volume_points = rule.volume_points
    kind = "volume"
    ranked: list[tuple] = []
    append = ranked.append
    placed: dict[int, list[tuple]] = {}
    last_tier = len(tiers)
    for candidate in candidates:
        pin = pins.get(candidate.id) if pins else None
        wanted = candidate.target_fiscal_year if pin is None else pin.fiscal_year
        if pin is not None and wanted is None:
            continue
        volume = candidate.annual_volume
        looked_up = by_volume.get((volume, candidate.mynaportal_eligible))
        if looked_up is None:
            looked_up = by_volume[volume, candidate.mynaportal_eligible] = (
                rule.volume_points(volume),
                _tier_index(compiled, volume, candidate.mynaportal_eligible),
            )
        points, tier_index = looked_up
        if tier_index is None and wanted is None:
            continue
        if moved_online:
            kind, volume = rule.scored_volume(candidate)
            points = volume_points(volume)
        flags = flag_parts(candidate)
        score = round(points + flags.total, 2)
        # The first six are the rank order; the id among them makes it total, so the tuples
        # sort as they are (no key function, no tuple for the key alone).
        item = (
            last_tier if tier_index is None else tier_index,
            volume is None,
            -score,
            -(volume or 0),
            candidate.code or "",
            candidate.id,
            volume,
            points,
            flags,
            score,
            tier_index,
            kind,
        )
        if wanted is None:
            append(item)
            continue
        year = wanted if current_year is None or wanted >= current_year else current_year
        by: dict[str, Any] = {"target": wanted} if pin is None else {"pin": pin.reason}
        if year != wanted:
            by["passed"] = wanted
        # Pins before targets, each in rank order.
        placed.setdefault(year, []).append((pin is None, item, by))
    ranked.sort()
    return ranked, placed


def _place(
    tiers: list[dict[str, Any]],
    years: list[dict[str, int]],
    ranked: list[tuple],
    placed: dict[int, list[tuple]],
    done: dict[int, int],
) -> list[RankedEntry]:
    """Fill each planned year: its pins and targets first, then the best-ranked to capacity."""
    entries: list[RankedEntry] = []
    tier_keys = [tier["key"] for tier in tiers]
    capacities = {year["fiscal_year"]: year["capacity"] for year in years}
    taken = 0
    for fiscal_year in [*capacities, *sorted(set(placed) - set(capacities))]:
        fixed = sorted(placed.get(fiscal_year, []), key=lambda entry: entry[:2])
        entries += [
            RankedEntry(
                item[5],
                fiscal_year,
                position,
                "target" if is_target else "pinned",
                item[9],
                item[6],
                item[7],
                item[8],
                by,
                item[11],
            )
            for position, (is_target, item, by) in enumerate(fixed, start=1)
        ]
        room = capacities.get(fiscal_year, 0) - done.get(fiscal_year, 0) - len(fixed)
        chunk = ranked[taken : taken + max(room, 0)]
        taken += len(chunk)
        entries += [
            RankedEntry(
                item[5],
                fiscal_year,
                position,
                tier_keys[item[10]],
                item[9],
                item[6],
                item[7],
                item[8],
                None,
                item[11],
            )
            for position, item in enumerate(chunk, start=len(fixed) + 1)
        ]
    return entries


def candidate_conditions() -> list[Any]:
    """Return the conditions of a candidate: feasible, not retired, not online or done yet."""
    online = col(Procedure.online_status)
    return [
        col(Procedure.verdict) == Verdict.feasible,
        col(Procedure.lifecycle) != Lifecycle.retired,
        col(Procedure.done_fiscal_year).is_(None),
        or_(online.is_(None), online != OnlineStatus.done),
    ]


def load_candidates(session: Session) -> list[Candidate]:
    """Read feasible, not retired procedures that are not online yet, as tuples."""
    query = select(
        col(Procedure.id),
        col(Procedure.code),
        col(Procedure.annual_volume),
        col(Procedure.mynaportal_eligible),
        col(Procedure.blockers),
        col(Procedure.life_events),
        col(Procedure.target_fiscal_year),
        col(Procedure.online_volume),
        col(Procedure.offline_volume),
        col(Procedure.steps),
    ).where(*candidate_conditions())
    # Few distinct blocker, life event and step columns exist: parse each once.
    parsed: dict[str | None, list[str]] = {}
    events: dict[str | None, tuple[str, ...]] = {}
    missing: dict[str | None, str | None] = {None: None}
    candidates: list[Candidate] = []
    append = candidates.append
    with collector_paused():
        for row in driver_rows(session, query):
            ident, code, volume, eligible, blockers, life_events, target, online, offline, steps = (
                row
            )
            codes = parsed.get(blockers)
            if codes is None:
                codes = parsed[blockers] = blockers_from_column(blockers)
            names = events.get(life_events)
            if names is None:
                names = events[life_events] = split_life_events(life_events)
            if steps not in missing:
                missing[steps] = missing_step(decode(steps))
            append(
                Candidate(
                    ident,
                    code,
                    volume,
                    bool(eligible),
                    codes,
                    names,
                    target,
                    online,
                    offline,
                    missing[steps],
                )
            )
    return candidates


def driver_rows(session: Session, query: Select) -> list[tuple]:
    """Run a query on the session's connection and return the driver's own row tuples.

    For tens of thousands of rows of plain values: SQLAlchemy's Row for each cost a third of
    reading the candidates. The query's values are written into its text (literal binds).
    """
    connection = session.connection()
    sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def split_life_events(value: str | None) -> tuple[str, ...]:
    """Read the life events stored as "妊娠・出産; 子育て" back into names."""
    return tuple(name.strip() for name in (value or "").split(";") if name.strip())
