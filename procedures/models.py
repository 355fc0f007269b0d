"""SQLModel tables: the organisation, the procedures, users, imports, the plan and the audit log."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import Column, Index, LargeBinary, String, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from importers.schema import OnlineStatus, Verdict
from procedures.core import clock


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC, from the app's one clock."""
    return clock.utc_now()


class Role(enum.StrEnum):
    """What a user may do; checked on the server for every route."""

    admin = "admin"
    dx_office = "dx_office"
    division = "division"
    viewer = "viewer"


class Lifecycle(enum.StrEnum):
    """Whether a procedure is live, absent from the last import, or retired by a person."""

    active = "active"
    missing = "missing"
    retired = "retired"


class Department(SQLModel, table=True):
    """A department (部) of the city."""

    id: int | None = Field(default=None, primary_key=True)
    #: Display name, e.g. 市民自治部.
    name: str = Field(max_length=200, unique=True)


class Division(SQLModel, table=True):
    """A division (課): keeps the inventory of its own procedures."""

    id: int | None = Field(default=None, primary_key=True)
    department_id: int = Field(foreign_key="department.id", index=True)
    #: Display name, unique in the city so that `--division NAME` is unambiguous.
    name: str = Field(max_length=200, unique=True)


class Procedure(SQLModel, table=True):
    """One administrative procedure (手続) of the inventory."""

    if TYPE_CHECKING:
        # Set by SQLModel's metaclass; declared for the type checker (Core inserts and updates).
        __table__: ClassVar[Table]

    __table_args__ = (
        Index("ix_procedure_division_name_key", "division_id", "name_key"),
        Index("ix_procedure_code", "code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    #: The city's or the nation's own identifier, when the sheet has one.
    code: str | None = Field(default=None, max_length=100)
    name: str = Field(sa_column=Column(Text, nullable=False))
    #: NFKC-normalised name without spaces: identity when there is no code.
    name_key: str = Field(sa_column=Column(Text, nullable=False))
    # No index of its own: (division_id, name_key) below serves lookups by division.
    division_id: int = Field(foreign_key="division.id")
    legal_basis: str | None = Field(default=None, sa_column=Column(Text))
    #: application / notification / certificate / inspection / reservation / consultation / other
    kind: str | None = Field(default=None, max_length=30)
    #: residents / businesses / both
    applicant: str | None = Field(default=None, max_length=30)
    #: Life events joined by "; " (妊娠・出産; 子育て …).
    life_events: str | None = Field(default=None, sa_column=Column(Text))
    #: Applications a year; NULL when unknown (never 0 for unknown).
    annual_volume: int | None = Field(default=None, index=True)
    #: Of these, applications made online a year (オンライン手続件数); NULL when unknown.
    online_volume: int | None = None
    #: Applications a year by any other channel (非オンライン手続件数, counter, post, phone).
    offline_volume: int | None = None
    #: The volume was written as an estimate (約500).
    volume_is_estimate: bool = Field(default=False)
    #: The fiscal year the volume counts (Western year of its April).
    volume_fiscal_year: int | None = None
    # Yes/no and few-valued columns have no index: a scan of 75,000 rows is quick, and each
    # index made importing them slower (13 indexes doubled the insert time; issue 3).
    visit_required: bool | None = None
    visit_reason: str | None = Field(default=None, sa_column=Column(Text))
    fee_required: bool | None = None
    fee_payment: str | None = Field(default=None, sa_column=Column(Text))
    attachments: str | None = Field(default=None, sa_column=Column(Text))
    originals_required: bool | None = None
    #: A seal (押印) or signature is required.
    seal_required: bool | None = None
    #: National identity-check code 1–6 (1 押印＋印鑑証明 … 6 本人確認不要).
    identity_check: int | None = None
    #: One of the procedures the nation asks municipalities to put on the My Number Portal.
    mynaportal_eligible: bool = False
    online_status: OnlineStatus | None = Field(default=None, index=True, sa_type=String(20))
    #: pittari / city_eapp / konbini / private, or free text.
    channel: str | None = Field(default=None, max_length=200)
    verdict: Verdict = Field(default=Verdict.undecided, sa_type=String(20))
    verdict_reason: str | None = Field(default=None, sa_column=Column(Text))
    #: Blocker codes wrapped in commas (",seal_signature,fee_payment,") so SQL can LIKE them.
    blockers: str = Field(default="", max_length=500)
    target_fiscal_year: int | None = Field(default=None, index=True)
    done_fiscal_year: int | None = Field(default=None, index=True)
    notes: str | None = Field(default=None, sa_column=Column(Text))
    #: Columns of the imported sheet that map to no field, as JSON {header id: value} with the
    #: headers in ExtraHeader (procedures.extras): written once there instead of in every row,
    #: they were two thirds of the national inventory's 46 MB of extra columns.
    extra: str | None = Field(default=None, sa_column=Column(Text))
    #: What a division wrote in a field the tool did not understand, as JSON {field: text}:
    #: the field holds unknown (or a person's decision) and the words are kept and shown.
    raw_values: str | None = Field(default=None, sa_column=Column(Text))
    #: Where each step is done, as JSON {step: status} in the order of importers/steps.json,
    #: naming only the known statuses (importers.steps): a column of its own rather than a
    #: table of steps, so that an import writes it in the procedure's own INSERT.
    steps: str | None = Field(default=None, sa_column=Column(Text))
    lifecycle: Lifecycle = Field(default=Lifecycle.active, sa_type=String(20))
    #: The import that created this procedure (NULL when created by hand).
    created_batch_id: int | None = Field(default=None, foreign_key="importbatch.id", index=True)
    #: The import that last found this procedure missing.
    missing_batch_id: int | None = Field(default=None, foreign_key="importbatch.id")
    #: Optimistic-locking counter: every write increments it.
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow, index=True)


class ExtraHeader(SQLModel, table=True):
    """The header of an imported column that maps to no field, named by Procedure.extra."""

    if TYPE_CHECKING:
        # Set by SQLModel's metaclass; declared for the type checker (Core inserts and updates).
        __table__: ClassVar[Table]

    id: int | None = Field(default=None, primary_key=True)
    #: SHA-256 of the text: unique where the text itself may be too long to index.
    digest: str = Field(max_length=64, unique=True)
    text: str = Field(sa_column=Column(Text, nullable=False))


class User(SQLModel, table=True):
    """A person who signs in."""

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=100, unique=True)
    password_hash: str = Field(max_length=300)
    role: Role = Field(default=Role.viewer, sa_type=String(20))
    #: The division a `division` user edits and uploads for.
    division_id: int | None = Field(default=None, foreign_key="division.id")
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)
    #: Set with a one-time password: the user must choose a new one before anything else.
    must_change_password: bool = Field(default=False)
    #: The interface language the user last chose ("ja" or "en"); None until they choose.
    language: str | None = Field(default=None, max_length=5)


class ImportBatch(SQLModel, table=True):
    """One uploaded inventory file and what its import did."""

    if TYPE_CHECKING:
        # Set by SQLModel's metaclass; declared for the type checker (Core inserts and updates).
        __table__: ClassVar[Table]

    id: int | None = Field(default=None, primary_key=True)
    file_name: str = Field(max_length=500)
    #: SHA-256 of the file's bytes: the same bytes are never imported twice.
    sha256: str = Field(max_length=64, index=True)
    #: The original file, kept so every app server behind one database can read it.
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    #: The division given at upload, if the rows did not say it themselves.
    division_id: int | None = Field(default=None, foreign_key="division.id")
    user_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    #: previewed / committed / refused
    status: str = Field(default="previewed", max_length=20)
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    missing: int = 0
    errors: int = 0
    #: The result as JSON (sheets, problems), shown on the result page.
    report: str | None = Field(default=None, sa_column=Column(Text))
    #: Column mapping chosen by a person on the preview page, as JSON {header: field|null}.
    mapping: str | None = Field(default=None, sa_column=Column(Text))
    #: What a person decided on the preview page for values the tool did not understand,
    #: as JSON {field: {value key: decision}} (importers.decisions).
    value_map: str | None = Field(default=None, sa_column=Column(Text))
    #: "whole": the file is its divisions' whole inventory (absent procedures become missing);
    #: "only_these": it updates only the procedures in it. NULL until a person chose.
    scope: str | None = Field(default=None, max_length=20)
    #: What reverting this import needs, as JSON (procedures.imports.revert), once committed.
    undo: str | None = Field(default=None, sa_column=Column(Text))
    reverted_at: datetime | None = None
    reverted_by: int | None = Field(default=None, foreign_key="user.id")


class SavedMapping(SQLModel, table=True):
    """A confirmed column mapping, reused when the same headers arrive for the same division."""

    __table_args__ = (UniqueConstraint("division_id", "header_signature"),)

    id: int | None = Field(default=None, primary_key=True)
    #: NULL when the file names its own divisions.
    division_id: int | None = Field(default=None, foreign_key="division.id")
    #: importers' hash of the sheet's normalised header texts.
    header_signature: str = Field(max_length=100, index=True)
    #: {header: field or null}, as the importer's `mapping` argument takes it.
    mapping: str = Field(sa_column=Column(Text, nullable=False))
    #: Decisions on values the tool did not understand, {field: {value key: decision}}.
    value_map: str | None = Field(default=None, sa_column=Column(Text))
    user_id: int | None = Field(default=None, foreign_key="user.id")
    updated_at: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    """Who changed which field of which procedure, from what to what, and when."""

    if TYPE_CHECKING:
        # Set by SQLModel's metaclass; declared for the type checker (Core inserts and updates).
        __table__: ClassVar[Table]

    __table_args__ = (Index("ix_auditevent_procedure_at", "procedure_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    procedure_id: int = Field(foreign_key="procedure.id")
    user_id: int | None = Field(default=None, foreign_key="user.id")
    batch_id: int | None = Field(default=None, foreign_key="importbatch.id", index=True)
    #: create / edit / import / retire / plan …
    action: str = Field(max_length=30)
    field: str | None = Field(default=None, max_length=60)
    old_value: str | None = Field(default=None, sa_column=Column(Text))
    new_value: str | None = Field(default=None, sa_column=Column(Text))
    at: datetime = Field(default_factory=utcnow)


class PlanEntry(SQLModel, table=True):
    """Where the current plan puts one procedure, and why."""

    if TYPE_CHECKING:
        # Set by SQLModel's metaclass; declared for the type checker (Core inserts and updates).
        __table__: ClassVar[Table]

    __table_args__ = (UniqueConstraint("procedure_id"),)

    id: int | None = Field(default=None, primary_key=True)
    #: A procedure's id, without a foreign key: each recompute writes the whole plan from the
    #: procedures it has just read, and checking 75,000 rows was a quarter of the write
    #: (migration 0015). Undoing an import deletes its procedures' entries first.
    procedure_id: int
    fiscal_year: int = Field(index=True)
    #: Order inside the fiscal year, 1-based.
    position: int
    #: The tier that placed it, e.g. "mynaportal", "volume_1000", "rest".
    tier: str = Field(max_length=60)
    score: float = 0.0
    #: Why it has its place, as JSON (tier, score parts, pin or target), rendered as sentences
    #: in the reader's language by procedures/plan/reasons.py.
    reason: str = Field(default="", sa_column=Column(Text))
    #: When the recompute that wrote it ran: the same on every row of one plan.
    computed_at: datetime = Field(default_factory=utcnow)


class PlanPolicy(SQLModel, table=True):
    """One saved version of the ranking policy; the newest row is the current policy."""

    __table_args__ = (UniqueConstraint("version", name="uq_planpolicy_version"),)

    id: int | None = Field(default=None, primary_key=True)
    #: 1, 2, 3 … in the order the versions were saved.
    version: int
    #: The policy as JSON: {"years": [...], "tiers": [...], "weights": {...}}.
    body: str = Field(sa_column=Column(Text, nullable=False))
    user_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class PlanPin(SQLModel, table=True):
    """A person's decision that overrides the ranking: a fixed fiscal year, or exclusion."""

    __table_args__ = (UniqueConstraint("procedure_id", name="uq_planpin_procedure_id"),)

    id: int | None = Field(default=None, primary_key=True)
    procedure_id: int = Field(foreign_key="procedure.id")
    #: The fiscal year it is pinned to; NULL when it is excluded from the plan.
    fiscal_year: int | None = None
    #: Why, in the person's words: shown wherever the plan is explained.
    reason: str = Field(sa_column=Column(Text, nullable=False))
    user_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class SavedPlan(SQLModel, table=True):
    """A dated snapshot of the plan, kept to compare later plans with."""

    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(default="", max_length=200)
    #: The policy version that produced the snapshot, when known.
    policy_version: int | None = None
    #: Number of procedures in the snapshot.
    entries: int = 0
    user_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class SavedPlanEntry(SQLModel, table=True):
    """Where a saved plan put one procedure."""

    if TYPE_CHECKING:
        # Set by SQLModel's metaclass; declared for the type checker (Core inserts and updates).
        __table__: ClassVar[Table]

    __table_args__ = (
        UniqueConstraint("saved_plan_id", "procedure_id", name="uq_savedplanentry_plan_procedure"),
    )

    id: int | None = Field(default=None, primary_key=True)
    saved_plan_id: int = Field(foreign_key="savedplan.id")
    procedure_id: int = Field(foreign_key="procedure.id")
    fiscal_year: int
    position: int
    tier: str = Field(max_length=60)


class MatchStatus(enum.StrEnum):
    """Where a match of a city procedure to the national priority list stands."""

    suggested = "suggested"
    confirmed = "confirmed"
    rejected = "rejected"


class PriorityProcedure(SQLModel, table=True):
    """One procedure of the national priority list (国の優先手続), in one revision of the list."""

    id: int | None = Field(default=None, primary_key=True)
    #: The revision that brought it, e.g. "2020-12 自治体DX推進計画".
    revision: str = Field(max_length=200)
    #: child_care / nursing_care / disaster / other
    category: str = Field(max_length=30)
    #: Order in the list, 1-based, as the national document lists it.
    position: int
    name: str = Field(sa_column=Column(Text, nullable=False))
    #: False once a newer revision replaced it or an admin deactivated it; kept for history.
    active: bool = Field(default=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class PriorityMatch(SQLModel, table=True):
    """A suggested, confirmed or rejected match of a city procedure to the national list."""

    __table_args__ = (
        UniqueConstraint("procedure_id", "priority_procedure_id", name="uq_prioritymatch_pair"),
    )

    id: int | None = Field(default=None, primary_key=True)
    procedure_id: int = Field(foreign_key="procedure.id", index=True)
    priority_procedure_id: int = Field(foreign_key="priorityprocedure.id", index=True)
    #: Name similarity 0–100 when it was suggested (procedures.priority.match_score).
    score: float = 0.0
    status: MatchStatus = Field(default=MatchStatus.suggested, index=True, sa_type=String(20))
    #: Who confirmed or rejected it; NULL while it is only a suggestion.
    user_id: int | None = Field(default=None, foreign_key="user.id")
    at: datetime = Field(default_factory=utcnow)


class LoginAttempt(SQLModel, table=True):
    """One sign-in attempt: throttling reads these, so every app worker sees the same state."""

    __table_args__ = (
        Index("ix_loginattempt_login_at", "login", "at"),
        Index("ix_loginattempt_address_at", "address", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=100)
    #: The client's address as the app sees it (behind a proxy: set ProxyFix).
    address: str = Field(max_length=64)
    success: bool = False
    at: datetime = Field(default_factory=utcnow)


class DivisionSurvey(SQLModel, table=True):
    """One division's yearly survey workbook (調査票): when it was made and when it came back."""

    __table_args__ = (
        UniqueConstraint("fiscal_year", "division_id", name="uq_divisionsurvey_year_division"),
    )

    id: int | None = Field(default=None, primary_key=True)
    #: The fiscal year of the survey (Western year of its April); it asks for the year before.
    fiscal_year: int = Field(index=True)
    division_id: int = Field(foreign_key="division.id", index=True)
    #: The last time the division's workbook was generated (alone or in the zip of all).
    generated_at: datetime | None = None
    generated_by: int | None = Field(default=None, foreign_key="user.id")
    #: When the returned workbook's import was committed; NULL while the division has not answered.
    answered_at: datetime | None = None
    answered_by: int | None = Field(default=None, foreign_key="user.id")
    #: The import batch that brought the answers back.
    answer_batch_id: int | None = Field(default=None, foreign_key="importbatch.id")


class UserSession(SQLModel, table=True):
    """One signed-in browser: its cookie carries a random token, this row keeps it alive.

    Signing out, a password change and deactivation delete rows; a row not used for the idle
    timeout (SESSION_IDLE_MINUTES) no longer signs anyone in and is removed at a later sign-in.
    """

    id: int | None = Field(default=None, primary_key=True)
    #: SHA-256 of the token in the session cookie: a copy of this table opens no session.
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    #: Written at most once a minute per session (procedures.core.sessions.TOUCH_INTERVAL).
    last_seen_at: datetime = Field(default_factory=utcnow)
    #: The client's address at sign-in as the app sees it (behind a proxy: set ProxyFix).
    address: str = Field(max_length=64)
    #: The browser's User-Agent at sign-in, cut to its first 300 characters.
    user_agent: str = Field(max_length=300)


class NationalLoad(SQLModel, table=True):
    """One load of the national inventory as a reference: not the city's own procedures."""

    id: int | None = Field(default=None, primary_key=True)
    #: The file's name as uploaded or given to the command.
    file_name: str = Field(max_length=500)
    #: SHA-256 of the file's bytes, in hex: says whether two loads were the same file.
    sha256: str = Field(max_length=64)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    loaded_at: datetime = Field(default_factory=utcnow)
    #: Entries stored: the rows with a 手続ID, a repeated ID counted once.
    rows: int = 0
    #: Links this load flagged for review.
    flagged: int = 0


class NationalEntry(SQLModel, table=True):
    """One procedure of a loaded national inventory, kept while a load or a link needs it."""

    __table_args__ = (
        UniqueConstraint("load_id", "national_id", name="uq_nationalentry_load_national"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # No index of its own: the unique (load_id, national_id) serves lookups by load.
    load_id: int = Field(foreign_key="nationalload.id")
    #: The national 手続ID.
    national_id: str = Field(max_length=100)
    name: str = Field(sa_column=Column(Text, nullable=False))
    #: The name as suggestions compare it (procedures.priority.national_list.normalise).
    name_key: str = Field(sa_column=Column(Text, nullable=False))
    legal_basis: str | None = Field(default=None, sa_column=Column(Text))
    #: 所管府省庁: the ministry in charge.
    ministry: str | None = Field(default=None, sa_column=Column(Text))
    online_status: str | None = Field(default=None, max_length=20)
    #: Blocker codes, sorted, joined by "; " (compared as text).
    blockers: str = Field(default="", max_length=500)
    identity_check: int | None = None
    annual_volume: int | None = None
    online_volume: int | None = None
    offline_volume: int | None = None


class NationalLink(SQLModel, table=True):
    """A city procedure's national 手続ID: a link a person confirmed, or a rejected suggestion."""

    __table_args__ = (
        UniqueConstraint("procedure_id", "national_id", name="uq_nationallink_procedure_national"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # No index of its own: the unique (procedure_id, national_id) serves lookups by procedure.
    procedure_id: int = Field(foreign_key="procedure.id")
    national_id: str = Field(max_length=100)
    #: confirmed (one per procedure) or rejected (never suggested again).
    status: MatchStatus = Field(default=MatchStatus.confirmed, index=True, sa_type=String(20))
    #: The load whose entry a person last saw for this link: the "old national" of a review.
    load_id: int | None = Field(default=None, foreign_key="nationalload.id")
    #: What changed in the national entry since, e.g. "name,online_status", or "removed";
    #: NULL when there is nothing to review.
    changes: str | None = Field(default=None, max_length=200)
    #: The load that raised the flag: the "new national" of a review.
    flagged_load_id: int | None = Field(default=None, foreign_key="nationalload.id")
    user_id: int | None = Field(default=None, foreign_key="user.id")
    at: datetime = Field(default_factory=utcnow)
