"""Queries and edits of procedures and of the organisation; functions flush, never commit."""

from __future__ import annotations

import unicodedata
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Exists,
    Row,
    SQLColumnExpression,
    and_,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col

from procedures.core.params import parse_int
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
        departments = select(col(Department.id), col(Department.name))
        for dept_id, name in self.session.execute(departments):
            assert dept_id is not None
            self.departments[name] = dept_id
        for div_id, name in self.session.execute(select(col(Division.id), col(Division.name))):
            assert div_id is not None
            self.divisions[name] = div_id

    def department_id(self, name: str) -> int:
        """Return the department's id, creating it when new."""
        if name not in self.departments:
            department = Department(name=name)
            self.session.add(department)
            self.session.flush()
            assert department.id is not None
            self.departments[name] = department.id
        return self.departments[name]

    def division_id(self, name: str, department_name: str | None = None) -> int:
        """Return the division's id, creating it (under its department) when new."""
        if name not in self.divisions:
            dept_id = self.department_id(department_name or UNASSIGNED_DEPARTMENT)
            division = Division(name=name, department_id=dept_id)
            self.session.add(division)
            self.session.flush()
            assert division.id is not None
            self.divisions[name] = division.id
        return self.divisions[name]


def list_departments(session: Session) -> list[Row[int | None, str]]:
    """Return (id, name) of every department, by name."""
    query = select(col(Department.id), col(Department.name)).order_by(col(Department.name))
    return list(session.execute(query))


def list_divisions(session: Session) -> list[Row[int | None, str, int]]:
    """Return (id, name, department_id) of every division, by name."""
    columns = (col(Division.id), col(Division.name), col(Division.department_id))
    query = select(*columns).order_by(col(Division.name))
    return list(session.execute(query))


def divisions_by_department(session: Session) -> dict[str, list[tuple[int, str]]]:
    """Return {department: [(division id, division)]}, both by name: a select's groups."""
    query = (
        select(col(Department.name), col(Division.id), col(Division.name))
        .join(Division, col(Division.department_id) == Department.id)
        .order_by(col(Department.name), col(Division.name))
    )
    groups: dict[str, list[tuple[int, str]]] = {}
    for department, ident, name in session.execute(query):
        groups.setdefault(department, []).append((ident, name))
    return groups


#: Volume bands of the list filter: (lowest, highest) with None for open ends.
VOLUME_BANDS = {
    "lt100": (0, 99),
    "100_999": (100, 999),
    "ge1000": (1000, None),
    "ge10000": (10000, None),
}
LIFECYCLES = {
    "current": (Lifecycle.active, Lifecycle.missing),
    "missing": (Lifecycle.missing,),
    "retired": (Lifecycle.retired,),
}


def _choice(args: Any, name: str, allowed: Container[str]) -> str:
    value = args.get(name, "")
    return value if value in allowed else ""


def _int_arg(args: Any, name: str) -> int | None:
    # A filter ignores what makes no sense, a number beyond the ids included (see params).
    return parse_int(args.get(name, ""))


def _date_arg(args: Any, name: str) -> date | None:
    try:
        return date.fromisoformat(args.get(name, ""))
    except ValueError:
        return None


@dataclass
class ProcedureFilter:
    """The filters and the sort order of the procedure list, as they stand in the URL."""

    q: str = ""
    department_id: int | None = None
    division_id: int | None = None
    verdict: str = ""
    visit: str = ""  # yes / no / unknown
    mynaportal: str = ""  # yes / no
    priority: str = ""  # matched / suggested: a national priority-list match
    online: str = ""  # an OnlineStatus value, or "unknown"
    life_event: str = ""
    blocker: str = ""
    volume: str = ""  # a VOLUME_BANDS key, or "unknown"
    target_year: int | None = None
    one_step: str = ""  # "any", or the key of the one step left offline
    unconfirmed: str = ""  # the key of a step nobody has confirmed
    lifecycle: str = "current"  # a LIFECYCLES key, or "all"
    changed_since: date | None = None
    sort: str = ""
    descending: bool = False

    @classmethod
    def from_args(cls, args: Any) -> ProcedureFilter:
        """Read the filters from request arguments, ignoring values that make no sense."""
        from importers.steps import STEP_KEYS
        from procedures.vocabulary import BLOCKERS

        return cls(
            q=args.get("q", "").strip()[:200],
            department_id=_int_arg(args, "department"),
            division_id=_int_arg(args, "division"),
            verdict=_choice(args, "verdict", Verdict.__members__),
            visit=_choice(args, "visit", ("yes", "no", "unknown")),
            mynaportal=_choice(args, "mynaportal", ("yes", "no")),
            priority=_choice(args, "priority", ("matched", "suggested", "none")),
            online=_choice(args, "online", (*OnlineStatus.__members__, "unknown")),
            life_event=args.get("life_event", "").strip()[:50],
            blocker=_choice(args, "blocker", BLOCKERS),
            volume=_choice(args, "volume", (*VOLUME_BANDS, "unknown")),
            target_year=_int_arg(args, "target"),
            one_step=_choice(args, "one_step", ("any", *STEP_KEYS)),
            unconfirmed=_choice(args, "unconfirmed", STEP_KEYS),
            lifecycle=_choice(args, "lifecycle", (*LIFECYCLES, "all")) or "current",
            changed_since=_date_arg(args, "changed_since"),
            sort=_choice(args, "sort", SORT_COLUMNS),
            descending=args.get("dir") == "desc",
        )

    def conditions(self) -> list[ColumnElement[bool]]:
        """Return the SQL conditions of this filter."""
        conditions: list[ColumnElement[bool]] = []
        if self.q:
            pattern = f"%{_escape_like(self.q)}%"
            conditions.append(
                or_(
                    *(
                        column.like(pattern, escape="\\")
                        for column in (
                            col(Procedure.name),
                            col(Procedure.code),
                            col(Procedure.legal_basis),
                            col(Procedure.notes),
                        )
                    )
                )
            )
        if self.department_id:
            conditions.append(col(Division.department_id) == self.department_id)
        if self.division_id:
            conditions.append(col(Procedure.division_id) == self.division_id)
        if self.verdict:
            conditions.append(col(Procedure.verdict) == self.verdict)
        if self.visit:
            conditions.append(_flag_condition(col(Procedure.visit_required), self.visit))
        if self.mynaportal:
            conditions.append(col(Procedure.mynaportal_eligible).is_(self.mynaportal == "yes"))
        if self.priority:
            conditions.append(_priority_condition(self.priority))
        if self.online == "unknown":
            conditions.append(col(Procedure.online_status).is_(None))
        elif self.online:
            conditions.append(col(Procedure.online_status) == self.online)
        if self.life_event:
            pattern = f"%{_escape_like(self.life_event)}%"
            conditions.append(col(Procedure.life_events).like(pattern, escape="\\"))
        if self.blocker:
            conditions.append(col(Procedure.blockers).like(f"%,{self.blocker},%"))
        conditions.extend(self._volume_conditions())
        if self.target_year:
            conditions.append(col(Procedure.target_fiscal_year) == self.target_year)
        conditions.extend(self._step_conditions())
        if self.lifecycle in LIFECYCLES:
            conditions.append(col(Procedure.lifecycle).in_(LIFECYCLES[self.lifecycle]))
        if self.changed_since:
            since = datetime.combine(self.changed_since, time.min, tzinfo=UTC)
            conditions.append(col(Procedure.updated_at) >= since)
        return conditions

    def _step_conditions(self) -> list[ColumnElement[bool]]:
        # Imported here: the steps module builds on this one (EditConflict).
        from procedures.catalogue.steps import one_step_condition, unconfirmed_condition

        conditions = []
        if self.one_step:
            conditions.append(one_step_condition(None if self.one_step == "any" else self.one_step))
        if self.unconfirmed:
            conditions.append(unconfirmed_condition(self.unconfirmed))
        return conditions

    def _volume_conditions(self) -> list[ColumnElement[bool]]:
        if self.volume == "unknown":
            return [col(Procedure.annual_volume).is_(None)]
        if not self.volume:
            return []
        low, high = VOLUME_BANDS[self.volume]
        conditions = [col(Procedure.annual_volume) >= low]
        if high is not None:
            conditions.append(col(Procedure.annual_volume) <= high)
        return conditions

    def order_by(self) -> list[SQLColumnExpression[Any]]:
        """Return the ORDER BY of the list: the chosen column (unknowns last), then a stable key."""
        # The inventory's own order (as imported) by default: the primary key serves it
        # with LIMIT and no sort of the whole table.
        stable: list[SQLColumnExpression[Any]] = [col(Procedure.id)]
        if not self.sort:
            return stable
        column = SORT_COLUMNS[self.sort]
        direction = column.desc() if self.descending else column.asc()
        return [column.is_(None), direction, *stable]

    def as_args(self, **overrides: Any) -> dict[str, Any]:
        """Return the non-empty filters (and sort) as URL arguments, with overrides applied."""
        args = {
            "q": self.q,
            "department": self.department_id,
            "division": self.division_id,
            "verdict": self.verdict,
            "visit": self.visit,
            "mynaportal": self.mynaportal,
            "priority": self.priority,
            "online": self.online,
            "life_event": self.life_event,
            "blocker": self.blocker,
            "volume": self.volume,
            "target": self.target_year,
            "one_step": self.one_step,
            "unconfirmed": self.unconfirmed,
            "lifecycle": self.lifecycle if self.lifecycle != "current" else "",
            "changed_since": self.changed_since.isoformat() if self.changed_since else "",
            "sort": self.sort,
            "dir": "desc" if self.descending else "",
        }
        args.update(overrides)
        return {key: value for key, value in args.items() if value}

    def sort_args(self, column: str) -> dict[str, Any]:
        """Return the URL arguments that sort by a column (toggling the direction if current)."""
        descending = self.sort == column and not self.descending
        return self.as_args(sort=column, dir="desc" if descending else "")

    @property
    def needs_organisation(self) -> bool:
        """True when counting needs the division and department tables joined."""
        return bool(self.department_id) or self.sort in ("department", "division")

    @property
    def more_filters_used(self) -> bool:
        """True when a filter of the folded part of the filter bar is set."""
        return bool(
            self.online
            or self.life_event
            or self.blocker
            or self.volume
            or self.target_year
            or self.one_step
            or self.unconfirmed
            or self.changed_since
            or self.lifecycle != "current"
        )


def _priority_condition(value: str) -> ColumnElement[bool]:
    """Match procedures by their national priority-list match: confirmed, only suggested, none."""
    from procedures.models import MatchStatus, PriorityMatch

    def has(status: MatchStatus) -> Exists:
        return (
            select(col(PriorityMatch.id))
            .where(
                col(PriorityMatch.procedure_id) == Procedure.id,
                col(PriorityMatch.status) == status,
            )
            .exists()
        )

    if value == "matched":
        return has(MatchStatus.confirmed)
    if value == "suggested":
        return and_(has(MatchStatus.suggested), ~has(MatchStatus.confirmed))
    return ~has(MatchStatus.confirmed)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _flag_condition(column: Mapped[bool | None], value: str) -> ColumnElement[bool]:
    return {"yes": column.is_(True), "no": column.is_(False), "unknown": column.is_(None)}[value]


#: Columns the list can be sorted by: URL key → column.
SORT_COLUMNS: dict[str, Mapped[Any]] = {
    "code": col(Procedure.code),
    "name": col(Procedure.name),
    "department": col(Department.name),
    "division": col(Division.name),
    "volume": col(Procedure.annual_volume),
    "visit": col(Procedure.visit_required),
    "verdict": col(Procedure.verdict),
    "online": col(Procedure.online_status),
    "target": col(Procedure.target_fiscal_year),
    "updated": col(Procedure.updated_at),
}

#: Columns the list page shows, one SELECT with LIMIT.
LIST_COLUMNS: tuple[SQLColumnExpression[Any], ...] = (
    col(Procedure.id),
    col(Procedure.code),
    col(Procedure.name),
    col(Division.name).label("division"),
    col(Department.name).label("department"),
    col(Procedure.annual_volume),
    col(Procedure.visit_required),
    col(Procedure.verdict),
    col(Procedure.online_status),
    col(Procedure.mynaportal_eligible),
    col(Procedure.target_fiscal_year),
    col(Procedure.lifecycle),
    col(Procedure.division_id),
    col(Procedure.version),
)


def list_procedures(
    session: Session, *, filters: ProcedureFilter, page: int, page_size: int
) -> tuple[list[Any], int]:
    """Return one page of procedures matching the filters, and the total count."""
    base = (
        select(*LIST_COLUMNS)
        .join(Division, col(Division.id) == Procedure.division_id)
        .join(Department, col(Department.id) == Division.department_id)
        .where(*filters.conditions())
    )
    counted = select(func.count(col(Procedure.id)))
    if filters.needs_organisation:
        counted = counted.join(Division, col(Division.id) == Procedure.division_id)
    total = session.execute(counted.where(*filters.conditions())).scalar_one()
    query = base.order_by(*filters.order_by()).limit(page_size).offset(max(page - 1, 0) * page_size)
    return list(session.execute(query)), total


def get_procedure(session: Session, procedure_id: int) -> Procedure | None:
    """Return one procedure or None."""
    return session.get(Procedure, procedure_id)


def procedure_context(session: Session, procedure: Procedure) -> tuple[str, str]:
    """Return the (department name, division name) of a procedure."""
    row = session.execute(
        select(col(Department.name), col(Division.name))
        .join(Division, col(Division.department_id) == Department.id)
        .where(col(Division.id) == procedure.division_id)
    ).one()
    return row[0], row[1]


def audit_trail(session: Session, procedure_id: int, limit: int = 200) -> list[Any]:
    """Return the procedure's audit events, newest first, with the user's login."""
    from procedures.models import User

    query = (
        select(AuditEvent, col(User.login))
        .outerjoin(User, col(User.id) == AuditEvent.user_id)
        .where(col(AuditEvent.procedure_id) == procedure_id)
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
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


def _audit_fields(session: Session, name: str, old: Any, new: Any) -> tuple[str, Any, Any]:
    """The field, old and new value an audit entry records for a change of one column.

    A move is recorded as the bulk change records it: the field "division" and the
    divisions' names, which the history shows and which outlive a renumbering of ids.
    """
    if name == "division_id":
        old_division, new_division = session.get(Division, old), session.get(Division, new)
        return (
            "division",
            old_division.name if old_division is not None else None,
            new_division.name if new_division is not None else None,
        )
    return name, _comparable(name, old), _comparable(name, new)


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
            raise EditConflict(procedure, _latest_changes(session, procedure_id))
        return []
    # The import finds a procedure without a code by its name's key: it follows the name.
    follows = {"name_key": name_key(changed["name"])} if "name" in changed else {}
    # An UPDATE's result is a CursorResult (with rowcount); Session.execute is typed as Result.
    result = cast(
        CursorResult[Any],
        session.execute(
            update(Procedure)
            .where(col(Procedure.id) == procedure_id, col(Procedure.version) == expected_version)
            .values(**changed, **follows, version=Procedure.version + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        session.refresh(procedure)
        raise EditConflict(procedure, _latest_changes(session, procedure_id))
    now = utcnow()
    events = []
    for name, value in changed.items():
        field_name, old_value, new_value = _audit_fields(
            session, name, getattr(procedure, name), value
        )
        events.append(
            AuditEvent(
                procedure_id=procedure_id,
                user_id=user_id,
                action="edit",
                field=field_name,
                old_value=old_value,
                new_value=new_value,
                at=now,
            )
        )
    session.add_all(events)
    session.flush()
    session.refresh(procedure)
    return list(changed)


def _latest_changes(session: Session, procedure_id: int) -> list[AuditEvent]:
    """Return the latest audit events: what the other person changed."""
    rows = session.execute(
        select(AuditEvent)
        .where(col(AuditEvent.procedure_id) == procedure_id)
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .limit(20)
    ).scalars()
    return list(rows)
