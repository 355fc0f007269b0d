"""One sequence for importing a file, called by the upload page, the background job and the CLI.

Every way in runs the same steps: recognise a returned survey workbook (its division and its
columns come from its marker), parse and compare the file (`preview`), keep or write the
result (`apply`), and mark the survey answered once the import lands.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from importers.decisions import ValueMap
from importers.inventory import ReadLimits
from procedures.imports.apply import BATCH_SIZE, apply_plan, plan_size, store_batch
from procedures.imports.mappings import batch_mapping, batch_values, save_mappings
from procedures.imports.preview import (
    WHOLE,
    ImportChanged,
    ImportOutcome,
    PreviewStale,
    ReadOptions,
    _Plan,
    analyse_file,
)
from procedures.imports.report import batch_report, kept_versions, stale_record, with_stale
from procedures.models import AuditEvent, Division, ImportBatch, Procedure, Role, User
from procedures.survey import returns as survey_returns
from procedures.survey.returns import SurveyFile


@dataclass
class Upload:
    """A file handed in, who handed it in, and the division its rows belong to by default."""

    content: bytes
    file_name: str
    division_name: str | None = None
    user_id: int | None = None
    #: Caps on reading it, such as the upload page's size limit; None: the importer's own.
    limits: ReadLimits | None = None
    #: Decisions on values the vocabulary does not decide (the command line's --value-map).
    value_map: ValueMap | None = None
    #: WHOLE: absent procedures of its divisions become missing; ONLY_THESE: none does.
    scope: str = WHOLE


@dataclass
class Previewed:
    """An upload compared with the inventory: kept as a batch unless it was refused."""

    outcome: ImportOutcome
    survey: SurveyFile | None
    batch: ImportBatch | None


def preview_upload(
    session: Session,
    upload: Upload,
    *,
    city: str,
    own_division: Division | None = None,
) -> Previewed:
    """Compare an uploaded file with the inventory and keep it, with its preview, as a batch.

    A division user (`own_division`) previews only their own division's procedures. Raises
    SurveyRefused when the file is a survey workbook that cannot be taken back.
    """
    own_id = own_division.id if own_division else None
    returned = survey_returns.recognise(
        session, upload.content, city=city, own_division_id=own_id, limits=upload.limits
    )
    division_name = returned.division_name if returned else upload.division_name
    options = ReadOptions(
        division_name=division_name,
        only_division=own_division.name if own_division else None,
        mapping=returned.mapping if returned else None,
        limits=upload.limits,
    )
    outcome = _analyse(session, content=upload.content, file_name=upload.file_name, options=options)
    if outcome.refused is not None or outcome.duplicate_of is not None:
        return Previewed(outcome, returned, None)
    batch = store_batch(
        session,
        content=upload.content,
        outcome=outcome,
        user_id=upload.user_id,
        division_name=division_name,
        status="previewed",
    )
    if returned:  # the preview and the commit read the survey's columns without a mapping step
        batch.mapping = json.dumps(returned.mapping, ensure_ascii=False)
    return Previewed(outcome, returned, batch)


def refresh_preview(session: Session, *, batch: ImportBatch) -> ImportOutcome:
    """Compare a previewed batch's file again (after a mapping change) and keep the preview."""
    outcome = _analyse(
        session,
        content=batch.content,
        file_name=batch.file_name,
        options=_batch_options(session, batch),
    )
    batch.report = batch_report(outcome)
    session.add(batch)
    session.flush()
    return outcome


def import_now(
    session: Session,
    upload: Upload,
    *,
    city: str,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportOutcome:
    """Import a file in one step (the command line): recognise, compare, write, record.

    Raises SurveyRefused when the file is a survey workbook that cannot be taken back.
    """
    returned = survey_returns.recognise(session, upload.content, city=city, limits=upload.limits)
    options = ReadOptions(
        division_name=returned.division_name if returned else upload.division_name,
        # A survey workbook is read with its own columns, without a mapping step.
        mapping=returned.mapping if returned else None,
        limits=upload.limits,
        value_map=upload.value_map,
        scope=upload.scope,
    )
    outcome = import_file(
        session,
        content=upload.content,
        file_name=upload.file_name,
        options=options,
        user_id=upload.user_id,
        dry_run=dry_run,
        progress=progress,
    )
    _record_answer(session, outcome, upload.user_id)
    return outcome


def commit_previewed(
    session: Session,
    *,
    batch_id: int,
    user_id: int,
    progress: Callable[[str, int, int], None] | None = None,
) -> ImportOutcome:
    """Import a previewed batch and, when it lands, mark its survey answered; caller commits."""
    outcome = commit_batch(session, batch_id=batch_id, user_id=user_id, progress=progress)
    _record_answer(session, outcome, user_id)
    return outcome


def _analyse(
    session: Session, *, content: bytes, file_name: str, options: ReadOptions
) -> ImportOutcome:
    """Parse and compare, leaving out the survey instructions sheet's 'no procedures' warning."""
    outcome, _plan = analyse_file(session, content=content, file_name=file_name, options=options)
    outcome.warnings = survey_returns.without_instruction_warnings(content, outcome.warnings)
    return outcome


def _record_answer(session: Session, outcome: ImportOutcome, user_id: int | None) -> None:
    if outcome.committed and outcome.batch_id is not None:
        batch = session.get(ImportBatch, outcome.batch_id)
        if batch is not None:
            survey_returns.record_answer(session, batch=batch, user_id=user_id)


def _division_name(session: Session, batch: ImportBatch) -> str | None:
    division = session.get(Division, batch.division_id) if batch.division_id else None
    return division.name if division else None


def _only_division(session: Session, batch: ImportBatch) -> str | None:
    """A division user's batch compares only their own division's procedures."""
    user = session.get(User, batch.user_id) if batch.user_id else None
    return _division_name(session, batch) if user and user.role == Role.division else None


def _batch_options(session: Session, batch: ImportBatch) -> ReadOptions:
    """A stored batch is read again as it was previewed: same division, reach and mapping."""
    return ReadOptions(
        division_name=_division_name(session, batch),
        only_division=_only_division(session, batch),
        mapping=batch_mapping(batch),
        value_map=batch_values(batch),
        scope=batch.scope or WHOLE,
    )


def import_file(
    session: Session,
    *,
    content: bytes,
    file_name: str,
    options: ReadOptions | None = None,
    user_id: int | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportOutcome:
    """Import a file in the caller's transaction; with dry_run, only report what would change.

    `progress(written, total)` is called as batches of procedures are written.
    """
    options = options or ReadOptions()
    outcome, plan = analyse_file(session, content=content, file_name=file_name, options=options)
    if plan is None or outcome.duplicate_of is not None or outcome.nothing_importable:
        return outcome
    if dry_run:
        return outcome
    batch = store_batch(
        session,
        content=content,
        outcome=outcome,
        user_id=user_id,
        division_name=options.division_name,
        status="committed",
    )
    batch.scope = options.scope
    if options.value_map:
        batch.value_map = json.dumps(options.value_map, ensure_ascii=False)
    total, written = plan_size(plan), 0

    def advance(count: int) -> None:
        nonlocal written
        written += count
        if progress is not None:
            progress(written, total)

    batch.undo = apply_plan(session, plan, batch_id=batch.id, user_id=user_id, progress=advance)
    outcome.batch_id = batch.id
    outcome.committed = True
    return outcome


#: Batch states from which a commit may start ("running": started by the progress page's job).
COMMITTABLE = ("previewed", "running")


def commit_batch(
    session: Session,
    *,
    batch_id: int,
    user_id: int | None,
    progress: Callable[[str, int, int], None] | None = None,
) -> ImportOutcome:
    """Apply a previewed batch: parse its stored file again and write the difference.

    `progress(phase, done, total)` follows the phases read → compare → write. Raises
    PreviewStale, writing nothing, when a procedure it changes (or marks missing) was saved
    after the preview: checked before the file is read, and again on what the comparison
    read (a save while the file is read, or of a procedure the preview left unchanged).
    From the comparison to the write, apply_plan checks the versions itself.
    """
    batch = session.get(ImportBatch, batch_id)
    if batch is None or batch.status not in COMMITTABLE:
        raise LookupError(batch_id)
    kept = kept_versions(batch)
    if kept is None:  # previewed before previews kept versions: it must be previewed again
        raise PreviewStale([])
    saved = saved_since_preview(session, batch)
    if saved:
        raise PreviewStale(saved)
    report = progress or (lambda _phase, _done, _total: None)
    report("read", 0, batch.rows)
    options = _batch_options(session, batch)
    outcome, plan = analyse_file(
        session,
        content=batch.content,
        file_name=batch.file_name,
        options=options,
        on_parsed=lambda rows: report("compare", rows, rows),
    )
    if plan is None or outcome.duplicate_of is not None or outcome.nothing_importable:
        return outcome
    saved = compared_since_preview(plan, kept)
    if saved:
        raise PreviewStale(saved)
    total, written = plan_size(plan), 0
    report("write", 0, total)

    def advance(count: int) -> None:
        nonlocal written
        written += count
        report("write", written, total)

    batch.undo = apply_plan(session, plan, batch_id=batch.id, user_id=user_id, progress=advance)
    save_mappings(session, outcome=outcome, division_name=options.division_name, user_id=user_id)
    batch.status = "committed"
    batch.created, batch.updated = outcome.created, outcome.updated
    batch.unchanged, batch.missing = outcome.unchanged, outcome.missing
    batch.errors = len(outcome.errors)
    session.add(batch)
    session.flush()
    outcome.batch_id = batch.id
    outcome.committed = True
    return outcome


def saved_since_preview(session: Session, batch: ImportBatch) -> list[int]:
    """Return the ids of the procedures the batch's preview changes that were saved since.

    Their versions now against those the preview kept: the ones it changes and, unless the
    file updates only its own procedures, those it marks missing. A deleted one counts. One
    query per 1,000 procedures (a preview rarely changes more).
    """
    kept = kept_versions(batch, absent=(batch.scope or WHOLE) == WHOLE) or {}
    ids = sorted(kept)
    current: dict[int, int] = {}
    for start in range(0, len(ids), BATCH_SIZE):
        chunk = ids[start : start + BATCH_SIZE]
        query = select(col(Procedure.id), col(Procedure.version)).where(
            col(Procedure.id).in_(chunk)
        )
        current.update((ident, version) for ident, version in session.execute(query))
    return [ident for ident in ids if current.get(ident) != kept[ident]]


def compared_since_preview(plan: _Plan, kept: dict[int, int]) -> list[int]:
    """Return the ids of the procedures a commit's comparison would write unlike the preview.

    Each procedure it updates or marks missing must have the version the preview kept: one
    saved while the file was read again, one the preview left unchanged (a save since made
    the file differ from it) and one created since (a row the preview called new now finds
    it, or the file lacks it) have another, or none.
    """
    written = [ident for ident, _changes, _diffs in plan.updates] + plan.missing_ids
    return sorted(ident for ident in written if kept.get(ident) != plan.versions[ident][0])


def note_saved_since(session: Session, batch_id: int, refusal: ImportChanged) -> None:
    """Note on a batch the procedures saved since its preview that refused its commit.

    Called after the import's rollback; the caller commits. The preview page then lists them
    and offers to preview again (which drops the note). A refusal at the write names none:
    they are found again against the preview's versions.
    """
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        return
    ids = refusal.ids if isinstance(refusal, PreviewStale) else []
    if not ids:
        ids = saved_since_preview(session, batch)
    batch.report = with_stale(batch.report, ids)
    session.add(batch)
    session.flush()


@dataclass(frozen=True)
class SavedSince:
    """A procedure saved after an import's preview: what the refusal page shows of it."""

    id: int
    name: str | None
    division: str | None
    #: The login of who saved it last, and when, from the audit log (None if it says nothing).
    saved_by: str | None
    saved_at: datetime | None


@dataclass(frozen=True)
class StaleNotice:
    """Why a commit was refused: the first procedures saved since the preview, and how many."""

    procedures: list[SavedSince]
    count: int

    @property
    def more(self) -> int:
        """Return how many were saved since besides those listed."""
        return self.count - len(self.procedures)


def stale_notice(session: Session, batch: ImportBatch) -> StaleNotice | None:
    """Return what the preview page says of a commit refused for saves since the preview."""
    record = stale_record(batch)
    if record is None:
        return None
    ids, count = record
    rows = session.execute(
        select(col(Procedure.id), col(Procedure.name), col(Division.name))
        .join(Division, col(Division.id) == col(Procedure.division_id))
        .where(col(Procedure.id).in_(ids))
    )
    found = {ident: (name, division) for ident, name, division in rows}
    last: dict[int, tuple[str | None, datetime]] = {}
    events = session.execute(
        select(col(AuditEvent.procedure_id), col(User.login), col(AuditEvent.at))
        .outerjoin(User, col(User.id) == col(AuditEvent.user_id))
        .where(col(AuditEvent.procedure_id).in_(ids))
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
    )
    for ident, login, at in events:
        last.setdefault(ident, (login, at))
    procedures = [
        SavedSince(
            id=ident,
            name=found.get(ident, (None, None))[0],
            division=found.get(ident, (None, None))[1],
            saved_by=last[ident][0] if ident in last else None,
            saved_at=last[ident][1] if ident in last else None,
        )
        for ident in ids
    ]
    return StaleNotice(procedures, count)
