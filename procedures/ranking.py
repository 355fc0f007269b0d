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

from sqlalchemy import delete, func, insert, literal, or_, select
from sqlmodel import Session

from procedures.catalogue import blockers_from_column
from procedures.models import (
    AuditEvent,
    Lifecycle,
    OnlineStatus,
    PlanEntry,
    PlanPin,
    PlanPolicy,
    Procedure,
    SavedPlan,
    SavedPlanEntry,
    User,
    Verdict,
    utcnow,
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
    portal_points = weights.get("mynaportal", 0.0)
    if candidate.mynaportal_eligible and portal_points:
        parts.append(["mynaportal", None, portal_points])
        score += portal_points
    for blocker in candidate.blockers:
        points = weights.get("blockers", {}).get(blocker, 0.0)
        if points:
            parts.append(["blocker", blocker, points])
            score += points
    for event in candidate.life_events:
        points = weights.get("life_events", {}).get(event, 0.0)
        if points:
            parts.append(["life_event", event, points])
            score += points
    return round(score, 2), parts


def rank_candidates(
    candidates: list[Candidate], policy: dict[str, Any], pins: dict[int, Pin] | None = None
) -> list[RankedEntry]:
    """Assign candidates to fiscal years in tier, then score order, until capacities are used.

    Ties are broken by volume (larger first), then code. Unknown volumes rank after known
    ones inside a tier: unknown is never treated as 0. Pinned procedures go first into their
    year and use its capacity (a person may fill a year beyond it); excluded ones are left out.
    Scoring is one pass over the tuples; the score's parts are built only for placed ones.
    """
    pins = pins or {}
    tiers = policy["tiers"]
    weights = policy["weights"]
    compiled = [
        (
            bool(tier["condition"].get("mynaportal_eligible")),
            tier["condition"].get("min_volume"),
        )
        for tier in tiers
    ]
    keyed = []
    pinned: dict[int, list] = {}
    volume_weight = weights.get("volume", 1.0)
    portal_points = weights.get("mynaportal", 0.0)
    blocker_weights = weights.get("blockers", {})
    event_weights = {
        event: points for event, points in weights.get("life_events", {}).items() if points
    }
    log10 = math.log10
    last_tier = len(tiers)
    # Inlined tier match and score (the same arithmetic as score_candidate): one pass.
    for candidate in candidates:
        pin = pins.get(candidate.id) if pins else None
        if pin is not None and pin.fiscal_year is None:
            continue
        volume = candidate.annual_volume
        eligible = candidate.mynaportal_eligible
        tier_index = None
        for index, (needs_portal, min_volume) in enumerate(compiled):
            if needs_portal and not eligible:
                continue
            if min_volume is not None and (volume is None or volume < min_volume):
                continue
            tier_index = index
            break
        if tier_index is None and pin is None:
            continue
        score = 0.0
        if volume is not None:
            score += round(volume_weight * log10(volume + 1), 2)
        if eligible and portal_points:
            score += portal_points
        for blocker in candidate.blockers:
            points = blocker_weights.get(blocker, 0.0)
            if points:
                score += points
        if event_weights:
            for event in candidate.life_events:
                score += event_weights.get(event, 0.0)
        score = round(score, 2)
        sort_key = (
            last_tier if tier_index is None else tier_index,
            volume is None,
            -score,
            -(volume or 0),
            candidate.code or "",
            candidate.id,
        )
        if pin is not None:
            pinned.setdefault(pin.fiscal_year, []).append((sort_key, candidate, score, pin))
        else:
            keyed.append((sort_key, candidate, tier_index, score))
    keyed.sort(key=lambda item: item[0])

    entries: list[RankedEntry] = []
    queue = iter(keyed)
    policy_years = [year["fiscal_year"] for year in policy["years"]]
    capacities = {year["fiscal_year"]: year["capacity"] for year in policy["years"]}
    # Pins to a year the policy no longer plans stay where the person put them.
    for fiscal_year in policy_years + sorted(set(pinned) - set(policy_years)):
        year_pins = sorted(pinned.get(fiscal_year, []), key=lambda item: item[0])
        position = 0
        for _key, candidate, score, pin in year_pins:
            position += 1
            parts = score_candidate(candidate, weights)[1]
            entries.append(
                RankedEntry(candidate.id, fiscal_year, position, "pinned", score, parts, pin.reason)
            )
        for _ in range(max(capacities.get(fiscal_year, 0) - len(year_pins), 0)):
            item = next(queue, None)
            if item is None:
                break
            position += 1
            _key, candidate, tier_index, score = item
            parts = score_candidate(candidate, weights)[1]
            entries.append(
                RankedEntry(
                    candidate.id, fiscal_year, position, tiers[tier_index]["key"], score, parts
                )
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
        Procedure.life_events,
    ).where(
        Procedure.verdict == Verdict.feasible,
        Procedure.lifecycle != Lifecycle.retired,
        Procedure.done_fiscal_year.is_(None),
        or_(Procedure.online_status.is_(None), Procedure.online_status != OnlineStatus.done),
    )
    # Few distinct blocker columns exist: parse each once.
    parsed: dict[str | None, list[str]] = {}
    events: dict[str | None, tuple[str, ...]] = {}
    candidates = []
    rows = session.connection().execute(query).all()
    for ident, code, volume, eligible, blockers, life_events in rows:
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


def normalise_policy(data: dict[str, Any]) -> dict[str, Any]:
    """Return a complete policy: years by fiscal year, tiers keyed by condition, all weights."""
    weights = data.get("weights", {})
    return {
        "years": sorted(
            (
                {"fiscal_year": int(year["fiscal_year"]), "capacity": int(year["capacity"])}
                for year in data.get("years", [])
            ),
            key=lambda year: year["fiscal_year"],
        ),
        "tiers": [
            {
                "key": tier_key(tier.get("condition", {})),
                "condition": dict(tier.get("condition", {})),
            }
            for tier in data.get("tiers", [])
        ],
        "weights": {
            "volume": float(weights.get("volume", 1.0)),
            "mynaportal": float(weights.get("mynaportal", 0.0)),
            "blockers": {
                code: float(weights.get("blockers", {}).get(code, 0.0))
                for code in DEFAULT_POLICY["weights"]["blockers"]
            },
            "life_events": {
                event: float(points)
                for event, points in weights.get("life_events", {}).items()
                if float(points)
            },
        },
    }


@dataclass
class PolicyVersion:
    """The current ranking policy and its version number (0: the built-in default, unsaved)."""

    version: int
    policy: dict[str, Any]
    created_at: Any = None


def current_policy(session: Session) -> PolicyVersion:
    """Return the newest saved policy, or the default without writing anything."""
    row = session.execute(
        select(PlanPolicy.version, PlanPolicy.body, PlanPolicy.created_at)
        .order_by(PlanPolicy.version.desc())
        .limit(1)
    ).first()
    if row is None:
        return PolicyVersion(0, normalise_policy(DEFAULT_POLICY))
    return PolicyVersion(row[0], normalise_policy(json.loads(row[1])), row[2])


def save_policy(
    session: Session, policy: dict[str, Any], *, user_id: int | None = None
) -> PolicyVersion:
    """Store the policy as a new version, which becomes the current one."""
    latest = session.execute(select(func.max(PlanPolicy.version))).scalar_one() or 0
    normalised = normalise_policy(policy)
    row = PlanPolicy(
        version=latest + 1, body=json.dumps(normalised, ensure_ascii=False), user_id=user_id
    )
    session.add(row)
    session.flush()
    return PolicyVersion(row.version, normalised, row.created_at)


def ensure_policy(session: Session) -> PolicyVersion:
    """Return the current policy, saving the default as version 1 when none is stored."""
    current = current_policy(session)
    if current.version == 0:
        return save_policy(session, current.policy)
    return current


def load_pins(session: Session) -> dict[int, Pin]:
    """Return every pin and exclusion by procedure id."""
    query = select(PlanPin.procedure_id, PlanPin.fiscal_year, PlanPin.reason)
    return {row[0]: Pin(row[1], row[2]) for row in session.execute(query)}


def _pin_text(fiscal_year: int | None, reason: str) -> str:
    return f"{'excluded' if fiscal_year is None else f'FY{fiscal_year}'}: {reason}"


def set_pin(
    session: Session,
    *,
    procedure_id: int,
    fiscal_year: int | None,
    reason: str,
    user_id: int | None,
) -> PlanPin:
    """Pin a procedure to a fiscal year (None: exclude it) and record it in the audit log."""
    pin = session.execute(
        select(PlanPin).where(PlanPin.procedure_id == procedure_id)
    ).scalar_one_or_none()
    old = None if pin is None else _pin_text(pin.fiscal_year, pin.reason)
    if pin is None:
        pin = PlanPin(procedure_id=procedure_id, reason=reason)
        session.add(pin)
    pin.fiscal_year = fiscal_year
    pin.reason = reason.strip()
    pin.user_id = user_id
    pin.created_at = utcnow()
    session.add(
        AuditEvent(
            procedure_id=procedure_id,
            user_id=user_id,
            action="plan",
            field="pin",
            old_value=old,
            new_value=_pin_text(fiscal_year, pin.reason),
        )
    )
    session.flush()
    return pin


def remove_pin(session: Session, *, procedure_id: int, user_id: int | None) -> bool:
    """Let the ranking place the procedure again; return whether there was a pin."""
    pin = session.execute(
        select(PlanPin).where(PlanPin.procedure_id == procedure_id)
    ).scalar_one_or_none()
    if pin is None:
        return False
    session.add(
        AuditEvent(
            procedure_id=procedure_id,
            user_id=user_id,
            action="plan",
            field="pin",
            old_value=_pin_text(pin.fiscal_year, pin.reason),
            new_value=None,
        )
    )
    session.delete(pin)
    session.flush()
    return True


def pin_rows(session: Session) -> list[Any]:
    """Return the pins with the procedure's code and name, pinned years first."""
    query = (
        select(
            PlanPin.procedure_id,
            Procedure.code,
            Procedure.name,
            PlanPin.fiscal_year,
            PlanPin.reason,
            User.login,
            PlanPin.created_at,
        )
        .join(Procedure, Procedure.id == PlanPin.procedure_id)
        .outerjoin(User, User.id == PlanPin.user_id)
        .order_by(PlanPin.fiscal_year.is_(None), PlanPin.fiscal_year, Procedure.code, PlanPin.id)
    )
    return list(session.execute(query))


def plan_place(session: Session, procedure_id: int) -> tuple[int, str] | None:
    """Return (fiscal year, stored reason) of a procedure in the current plan, if it is there."""
    row = session.execute(
        select(PlanEntry.fiscal_year, PlanEntry.reason).where(
            PlanEntry.procedure_id == procedure_id
        )
    ).first()
    return None if row is None else (row[0], row[1])


def preview_plan(session: Session, policy: dict[str, Any]) -> list[RankedEntry]:
    """Rank the current candidates with a policy without writing anything (what-if)."""
    return rank_candidates(load_candidates(session), normalise_policy(policy), load_pins(session))


def recompute_plan(session: Session, policy: dict[str, Any] | None = None) -> list[RankedEntry]:
    """Rank the current candidates and store the result as the current plan.

    Without a policy the current saved one is used (the default is saved first if none is).
    """
    if policy is None:
        policy = ensure_policy(session).policy
    entries = rank_candidates(
        load_candidates(session), normalise_policy(policy), load_pins(session)
    )
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
    for start in range(0, len(records), 5000):
        connection.execute(insert(PlanEntry.__table__), records[start : start + 5000])
    return entries


def planned_counts(session: Session) -> dict[int, int]:
    """Return the number of procedures the current plan assigns to each fiscal year."""
    query = (
        select(PlanEntry.fiscal_year, func.count())
        .join(Procedure, Procedure.id == PlanEntry.procedure_id)
        .where(Procedure.lifecycle != Lifecycle.retired)
        .group_by(PlanEntry.fiscal_year)
        .order_by(PlanEntry.fiscal_year)
    )
    return {year: count for year, count in session.execute(query)}


@dataclass
class YearProgress:
    """One fiscal year's target and what was done, in procedures and annual applications."""

    fiscal_year: int
    capacity: int | None
    planned: int = 0
    planned_volume: int = 0
    done: int = 0
    done_volume: int = 0


def progress(session: Session, policy: dict[str, Any]) -> list[YearProgress]:
    """Return target (capacity, planned) and done per fiscal year, counted in SQL."""
    current = Procedure.lifecycle != Lifecycle.retired
    years = {
        year["fiscal_year"]: YearProgress(year["fiscal_year"], year["capacity"])
        for year in policy["years"]
    }
    planned = session.execute(
        select(PlanEntry.fiscal_year, func.count(), func.sum(Procedure.annual_volume))
        .join(Procedure, Procedure.id == PlanEntry.procedure_id)
        .where(current)
        .group_by(PlanEntry.fiscal_year)
    )
    for year, count, volume in planned:
        item = years.setdefault(year, YearProgress(year, None))
        item.planned, item.planned_volume = int(count), int(volume or 0)
    done = session.execute(
        select(Procedure.done_fiscal_year, func.count(), func.sum(Procedure.annual_volume))
        .where(current, Procedure.done_fiscal_year.in_(list(years)))
        .group_by(Procedure.done_fiscal_year)
    )
    for year, count, volume in done:
        years[year].done, years[year].done_volume = int(count), int(volume or 0)
    return [years[year] for year in sorted(years)]


def current_assignment(session: Session) -> dict[int, int]:
    """Return the current plan as {procedure id: fiscal year}."""
    query = select(PlanEntry.procedure_id, PlanEntry.fiscal_year)
    return {row[0]: row[1] for row in session.execute(query)}


def saved_assignment(session: Session, saved_plan_id: int) -> dict[int, int]:
    """Return a saved plan as {procedure id: fiscal year}."""
    query = select(SavedPlanEntry.procedure_id, SavedPlanEntry.fiscal_year).where(
        SavedPlanEntry.saved_plan_id == saved_plan_id
    )
    return {row[0]: row[1] for row in session.execute(query)}


@dataclass
class PlanChanges:
    """What differs between two plans: (procedure id, old year, new year) per change."""

    moved_in: list[tuple[int, None, int]] = field(default_factory=list)
    moved_out: list[tuple[int, int, None]] = field(default_factory=list)
    moved_year: list[tuple[int, int, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Return the number of procedures whose place changed."""
        return len(self.moved_in) + len(self.moved_out) + len(self.moved_year)

    def counts_by_year(self, before: dict[int, int], after: dict[int, int]) -> dict[int, tuple]:
        """Return {year: (count before, count after)} over both plans' years."""
        result: dict[int, list[int]] = {}
        for year in before.values():
            result.setdefault(year, [0, 0])[0] += 1
        for year in after.values():
            result.setdefault(year, [0, 0])[1] += 1
        return {year: tuple(result[year]) for year in sorted(result)}


def compare_assignments(before: dict[int, int], after: dict[int, int]) -> PlanChanges:
    """Compare two plans: what came in, what went out, what moved to another year."""
    changes = PlanChanges()
    for procedure_id, year in after.items():
        old = before.get(procedure_id)
        if old is None:
            changes.moved_in.append((procedure_id, None, year))
        elif old != year:
            changes.moved_year.append((procedure_id, old, year))
    for procedure_id, year in before.items():
        if procedure_id not in after:
            changes.moved_out.append((procedure_id, year, None))
    for items in (changes.moved_in, changes.moved_out, changes.moved_year):
        items.sort(key=lambda item: (item[2] or item[1], item[0]))
    return changes


def procedure_names(session: Session, ids: list[int]) -> dict[int, tuple[str | None, str]]:
    """Return {id: (code, name)} for a few procedures (shown in a comparison)."""
    if not ids:
        return {}
    query = select(Procedure.id, Procedure.code, Procedure.name).where(Procedure.id.in_(ids))
    return {row[0]: (row[1], row[2]) for row in session.execute(query)}


def save_plan_snapshot(
    session: Session, *, label: str, user_id: int | None, policy_version: int | None
) -> SavedPlan:
    """Keep the current plan as a dated version, copied in one INSERT … SELECT."""
    count = session.execute(select(func.count()).select_from(PlanEntry)).scalar_one()
    saved = SavedPlan(
        label=label.strip(), user_id=user_id, policy_version=policy_version, entries=count
    )
    session.add(saved)
    session.flush()
    source = select(
        literal(saved.id),
        PlanEntry.procedure_id,
        PlanEntry.fiscal_year,
        PlanEntry.position,
        PlanEntry.tier,
    )
    session.execute(
        insert(SavedPlanEntry.__table__).from_select(
            ["saved_plan_id", "procedure_id", "fiscal_year", "position", "tier"], source
        )
    )
    session.flush()
    return saved


def saved_plans(session: Session) -> list[SavedPlan]:
    """Return the saved plan versions, newest first."""
    return list(session.execute(select(SavedPlan).order_by(SavedPlan.id.desc())).scalars())


def saved_comparison(session: Session, saved_plan_id: int, *, limit: int = 100) -> dict[str, Any]:
    """Compare the current plan with a saved one: counts of every change, first rows named.

    Both plans are read as (id, year) tuples and compared in one pass; only the rows shown
    are looked up by name. Returns {"total", "years": [{fiscal_year, before, after}],
    "moved_in" | "moved_out" | "moved_year": {"count", "rows": [{id, code, name, before,
    after}]}}.
    """
    before = saved_assignment(session, saved_plan_id)
    after = current_assignment(session)
    changes = compare_assignments(before, after)
    kinds = {
        "moved_in": changes.moved_in,
        "moved_out": changes.moved_out,
        "moved_year": changes.moved_year,
    }
    shown = [item[0] for items in kinds.values() for item in items[:limit]]
    names = procedure_names(session, shown)
    result: dict[str, Any] = {
        kind: {
            "count": len(items),
            "rows": [
                {
                    "id": ident,
                    "before": old,
                    "after": new,
                    "code": names[ident][0],
                    "name": names[ident][1],
                }
                for ident, old, new in items[:limit]
                if ident in names
            ],
        }
        for kind, items in kinds.items()
    }
    result["total"] = changes.total
    result["years"] = [
        {"fiscal_year": year, "before": counts[0], "after": counts[1]}
        for year, counts in changes.counts_by_year(before, after).items()
    ]
    return result
