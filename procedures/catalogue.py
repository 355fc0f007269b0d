"""Queries and edits of procedures and of the organisation; functions flush, never commit."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlmodel import Session

from procedures.models import (
    AuditEvent,
    Department,
    Division,
    Lifecycle,
    OnlineStatus,
    Procedure,
    Verdict,
    utcnow,
)

#: The department given to divisions whose sheet names no department.
UNASSIGNED_DEPARTMENT = "（部未設定）"

#: Fields a person may edit on the procedure form, in form order.
EDITABLE_FIELDS = (
    "name",
    "legal_basis",
    "annual_volume",
    "visit_required",
    "visit_reason",
    "mynaportal_eligible",
    "online_status",
    "channel",
    "verdict",
    "verdict_reason",
    "blockers",
    "target_fiscal_year",
    "done_fiscal_year",
    "notes",
)


class EditConflict(Exception):
    """Someone else saved the procedure since it was opened; nothing was written."""

    def __init__(self, current: Procedure, their_changes: list[AuditEvent]):
        super().__init__("edit conflict")
        self.current = current
        self.their_changes = their_changes


def name_key(name: str) -> str:
    """Return the identity key of a name: NFKC, no spaces or line breaks."""
    return "".join(unicodedata.normalize("NFKC", name).split())


def blockers_to_column(codes: list[str] | tuple[str, ...] | None) -> str:
    """Store blocker codes as ",a,b," so SQL can find one with LIKE '%,a,%'."""
    unique = sorted(set(codes or ()))
    return f",{','.join(unique)}," if unique else ""


def blockers_from_column(value: str | None) -> list[str]:
    """Read blocker codes back from their column."""
    return [code for code in (value or "").split(",") if code]


def audit_text(value: Any) -> str | None:
    """Render a field value for the audit log and for comparison."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "; ".join(str(item) for item in value) or None
    return str(value)


@dataclass
class DivisionCache:
    """Division and department ids by name, created on first use during one bulk operation."""

    session: Session
    divisions: dict[str, int] = field(default_factory=dict)
    departments: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for dept_id, name in self.session.execute(select(Department.id, Department.name)):
            self.departments[name] = dept_id
        for div_id, name in self.session.execute(select(Division.id, Division.name)):
            self.divisions[name] = div_id

    def department_id(self, name: str) -> int:
        """Return the department's id, creating it when new."""
        if name not in self.departments:
            department = Department(name=name)
            self.session.add(department)
            self.session.flush()
            self.departments[name] = department.id
        return self.departments[name]

    def division_id(self, name: str, department_name: str | None = None) -> int:
        """Return the division's id, creating it (under its department) when new."""
        if name not in self.divisions:
            dept_id = self.department_id(department_name or UNASSIGNED_DEPARTMENT)
            division = Division(name=name, department_id=dept_id)
            self.session.add(division)
            self.session.flush()
            self.divisions[name] = division.id
        return self.divisions[name]


def list_departments(session: Session) -> list[tuple[int, str]]:
    """Return (id, name) of every department, by name."""
    return list(session.execute(select(Department.id, Department.name).order_by(Department.name)))


def list_divisions(session: Session) -> list[tuple[int, str, int]]:
    """Return (id, name, department_id) of every division, by name."""
    query = select(Division.id, Division.name, Division.department_id).order_by(Division.name)
    return list(session.execute(query))


@dataclass
class ProcedureFilter:
    """The filters of the procedure list, as they stand in the URL."""

    q: str = ""
    department_id: int | None = None
    division_id: int | None = None
    verdict: str = ""
    visit: str = ""  # "yes" / "no" / "unknown"
    mynaportal: str = ""  # "yes" / "no"
    lifecycle: str = "current"  # current (active+missing) / missing / retired / all

    @classmethod
    def from_args(cls, args: Any) -> ProcedureFilter:
        """Read the filters from request arguments, ignoring values that make no sense."""

        def as_int(name: str) -> int | None:
            value = args.get(name, "")
            return int(value) if value.isdigit() else None

        verdict = args.get("verdict", "")
        return cls(
            q=args.get("q", "").strip()[:200],
            department_id=as_int("department"),
            division_id=as_int("division"),
            verdict=verdict if verdict in Verdict.__members__ else "",
            visit=args.get("visit", "") if args.get("visit") in ("yes", "no", "unknown") else "",
            mynaportal=args.get("mynaportal", "")
            if args.get("mynaportal") in ("yes", "no")
            else "",
            lifecycle=args.get("lifecycle", "current")
            if args.get("lifecycle") in ("current", "missing", "retired", "all")
            else "current",
        )

    def conditions(self) -> list:
        """Return the SQL conditions of this filter."""
        conditions = []
        if self.q:
            pattern = f"%{self.q}%"
            conditions.append(
                or_(
                    Procedure.name.like(pattern),
                    Procedure.code.like(pattern),
                    Procedure.legal_basis.like(pattern),
                    Procedure.notes.like(pattern),
                )
            )
        if self.department_id:
            conditions.append(Division.department_id == self.department_id)
        if self.division_id:
            conditions.append(Procedure.division_id == self.division_id)
        if self.verdict:
            conditions.append(Procedure.verdict == self.verdict)
        visit_conditions = {
            "yes": Procedure.visit_required.is_(True),
            "no": Procedure.visit_required.is_(False),
            "unknown": Procedure.visit_required.is_(None),
        }
        if self.visit:
            conditions.append(visit_conditions[self.visit])
        if self.mynaportal:
            conditions.append(Procedure.mynaportal_eligible.is_(self.mynaportal == "yes"))
        lifecycles = {
            "current": [Lifecycle.active, Lifecycle.missing],
            "missing": [Lifecycle.missing],
            "retired": [Lifecycle.retired],
        }
        if self.lifecycle in lifecycles:
            conditions.append(Procedure.lifecycle.in_(lifecycles[self.lifecycle]))
        return conditions

    def as_args(self) -> dict[str, Any]:
        """Return the non-empty filters as URL arguments."""
        args = {
            "q": self.q,
            "department": self.department_id,
            "division": self.division_id,
            "verdict": self.verdict,
            "visit": self.visit,
            "mynaportal": self.mynaportal,
            "lifecycle": self.lifecycle if self.lifecycle != "current" else "",
        }
        return {key: value for key, value in args.items() if value}


#: Columns the list page shows, one SELECT with LIMIT.
LIST_COLUMNS = (
    Procedure.id,
    Procedure.code,
    Procedure.name,
    Division.name.label("division"),
    Department.name.label("department"),
    Procedure.annual_volume,
    Procedure.visit_required,
    Procedure.verdict,
    Procedure.online_status,
    Procedure.mynaportal_eligible,
    Procedure.target_fiscal_year,
    Procedure.lifecycle,
)


def list_procedures(
    session: Session, *, filters: ProcedureFilter, page: int, page_size: int
) -> tuple[list[Any], int]:
    """Return one page of procedures matching the filters, and the total count."""
    base = (
        select(*LIST_COLUMNS)
        .join(Division, Division.id == Procedure.division_id)
        .join(Department, Department.id == Division.department_id)
        .where(*filters.conditions())
    )
    total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    query = (
        base.order_by(Department.id, Division.id, Procedure.code, Procedure.id)
        .limit(page_size)
        .offset(max(page - 1, 0) * page_size)
    )
    return list(session.execute(query)), total


def get_procedure(session: Session, procedure_id: int) -> Procedure | None:
    """Return one procedure or None."""
    return session.get(Procedure, procedure_id)


def procedure_context(session: Session, procedure: Procedure) -> tuple[str, str]:
    """Return the (department name, division name) of a procedure."""
    row = session.execute(
        select(Department.name, Division.name)
        .join(Division, Division.department_id == Department.id)
        .where(Division.id == procedure.division_id)
    ).one()
    return row[0], row[1]


def audit_trail(session: Session, procedure_id: int, limit: int = 200) -> list[Any]:
    """Return the procedure's audit events, newest first, with the user's login."""
    from procedures.models import User

    query = (
        select(AuditEvent, User.login)
        .outerjoin(User, User.id == AuditEvent.user_id)
        .where(AuditEvent.procedure_id == procedure_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return list(session.execute(query))


def _stored(field_name: str, value: Any) -> Any:
    """Convert a form or import value to what the column stores."""
    if field_name == "blockers":
        return blockers_to_column(value)
    if field_name == "online_status" and value:
        return OnlineStatus(value).value
    if field_name == "verdict":
        return Verdict(value or Verdict.undecided).value
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _comparable(field_name: str, stored_value: Any) -> str | None:
    if field_name == "blockers":
        return audit_text(blockers_from_column(stored_value))
    return audit_text(stored_value)


def update_procedure(
    session: Session,
    *,
    procedure_id: int,
    changes: dict[str, Any],
    expected_version: int,
    user_id: int | None,
) -> list[str]:
    """Apply changed fields if nobody saved since expected_version; audit each one.

    Returns the names of the fields that changed. Raises EditConflict when the
    procedure's version moved on, leaving the database as it was.
    """
    procedure = session.get(Procedure, procedure_id)
    if procedure is None:
        raise LookupError(procedure_id)
    stored = {name: _stored(name, value) for name, value in changes.items()}
    changed = {
        name: value
        for name, value in stored.items()
        if _comparable(name, getattr(procedure, name)) != _comparable(name, value)
    }
    if not changed:
        if procedure.version != expected_version:
            raise EditConflict(procedure, _changes_since(session, procedure_id, expected_version))
        return []
    result = session.execute(
        update(Procedure)
        .where(Procedure.id == procedure_id, Procedure.version == expected_version)
        .values(**changed, version=Procedure.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.refresh(procedure)
        raise EditConflict(procedure, _changes_since(session, procedure_id, expected_version))
    now = utcnow()
    events = [
        AuditEvent(
            procedure_id=procedure_id,
            user_id=user_id,
            action="edit",
            field=name,
            old_value=_comparable(name, getattr(procedure, name)),
            new_value=_comparable(name, value),
            at=now,
        )
        for name, value in changed.items()
    ]
    session.add_all(events)
    session.flush()
    session.refresh(procedure)
    return list(changed)


def _changes_since(session: Session, procedure_id: int, version: int) -> list[AuditEvent]:
    """Return the latest audit events: what the other person changed."""
    rows = session.execute(
        select(AuditEvent)
        .where(AuditEvent.procedure_id == procedure_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(20)
    ).scalars()
    return list(rows)
