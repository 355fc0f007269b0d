"""The planning policy and the pins a person sets, stored as versions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from procedures.models import (
    AuditEvent,
    PlanPin,
    PlanPolicy,
    Procedure,
    User,
    utcnow,
)
from procedures.plan.ranking import (
    DEFAULT_POLICY,
    VOLUME_BASES,
    Pin,
    default_policy,
    tier_key,
)
from procedures.survey.status import current_fiscal_year


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
            # A policy saved before these options existed ranks as it did: both off.
            "volume_basis": (
                weights["volume_basis"]
                if weights.get("volume_basis") in VOLUME_BASES
                else VOLUME_BASES[0]
            ),
            "one_step": float(weights.get("one_step", 0.0)),
        },
    }


@dataclass
class PolicyVersion:
    """The current ranking policy and its version number (0: the built-in default, unsaved)."""

    version: int
    policy: dict[str, Any]
    created_at: Any = None


def current_policy(session: Session, *, current_year: int | None = None) -> PolicyVersion:
    """Return the newest saved policy, or the default without writing anything.

    The default's years start at `current_year`, by default the fiscal year of today.
    """
    row = session.execute(
        select(col(PlanPolicy.version), col(PlanPolicy.body), col(PlanPolicy.created_at))
        .order_by(col(PlanPolicy.version).desc())
        .limit(1)
    ).first()
    if row is None:
        first_year = current_year or current_fiscal_year()
        return PolicyVersion(0, normalise_policy(default_policy(first_year)))
    return PolicyVersion(row[0], normalise_policy(json.loads(row[1])), row[2])


def save_policy(
    session: Session, policy: dict[str, Any], *, user_id: int | None = None
) -> PolicyVersion:
    """Store the policy as a new version, which becomes the current one."""
    latest = session.execute(select(func.max(col(PlanPolicy.version)))).scalar_one() or 0
    normalised = normalise_policy(policy)
    row = PlanPolicy(
        version=latest + 1, body=json.dumps(normalised, ensure_ascii=False), user_id=user_id
    )
    session.add(row)
    session.flush()
    return PolicyVersion(row.version, normalised, row.created_at)


def ensure_policy(session: Session, *, current_year: int | None = None) -> PolicyVersion:
    """Return the current policy, saving the default as version 1 when none is stored."""
    current = current_policy(session, current_year=current_year)
    if current.version == 0:
        return save_policy(session, current.policy)
    return current


def load_pins(session: Session) -> dict[int, Pin]:
    """Return every pin and exclusion by procedure id."""
    query = select(col(PlanPin.procedure_id), col(PlanPin.fiscal_year), col(PlanPin.reason))
    return {row[0]: Pin(row[1], row[2]) for row in session.execute(query)}


def _pin_text(fiscal_year: int | None, reason: str) -> str:
    return f"{'excluded' if fiscal_year is None else f'FY{fiscal_year}'}: {reason}"


def _audit_pin(
    session: Session, procedure_id: int, user_id: int | None, old: str | None, new: str | None
) -> None:
    session.add(
        AuditEvent(
            procedure_id=procedure_id,
            user_id=user_id,
            action="plan",
            field="pin",
            old_value=old,
            new_value=new,
        )
    )


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
        select(PlanPin).where(col(PlanPin.procedure_id) == procedure_id)
    ).scalar_one_or_none()
    old = None if pin is None else _pin_text(pin.fiscal_year, pin.reason)
    if pin is None:
        pin = PlanPin(procedure_id=procedure_id, reason=reason)
        session.add(pin)
    pin.fiscal_year = fiscal_year
    pin.reason = reason.strip()
    pin.user_id = user_id
    pin.created_at = utcnow()
    _audit_pin(session, procedure_id, user_id, old, _pin_text(fiscal_year, pin.reason))
    session.flush()
    return pin


def remove_pin(session: Session, *, procedure_id: int, user_id: int | None) -> bool:
    """Let the ranking place the procedure again; return whether there was a pin."""
    pin = session.execute(
        select(PlanPin).where(col(PlanPin.procedure_id) == procedure_id)
    ).scalar_one_or_none()
    if pin is None:
        return False
    _audit_pin(session, procedure_id, user_id, _pin_text(pin.fiscal_year, pin.reason), None)
    session.delete(pin)
    session.flush()
    return True


def pin_rows(session: Session) -> list[Any]:
    """Return the pins with the procedure's code and name, pinned years first."""
    query = (
        select(
            col(PlanPin.procedure_id),
            col(Procedure.code),
            col(Procedure.name),
            col(PlanPin.fiscal_year),
            col(PlanPin.reason),
            col(User.login),
            col(PlanPin.created_at),
        )
        .join(Procedure, col(Procedure.id) == PlanPin.procedure_id)
        .outerjoin(User, col(User.id) == PlanPin.user_id)
        .order_by(
            col(PlanPin.fiscal_year).is_(None),
            col(PlanPin.fiscal_year),
            col(Procedure.code),
            col(PlanPin.id),
        )
    )
    return list(session.execute(query))
