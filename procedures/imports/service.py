"""One sequence for importing a file, called by the upload page, the background job and the CLI."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from importers.inventory import (
    ReadLimits,
)
from procedures.imports.apply import apply_plan, plan_size, store_batch
from procedures.imports.mappings import batch_mapping, save_mappings
from procedures.imports.preview import ImportOutcome, analyse_file
from procedures.models import (
    Division,
    ImportBatch,
)


def import_file(
    session: Session,
    *,
    content: bytes,
    file_name: str,
    division_name: str | None = None,
    only_division: str | None = None,
    user_id: int | None = None,
    dry_run: bool = False,
    limits: ReadLimits | None = None,
    progress: Callable[[int, int], None] | None = None,
    mapping: dict[str, str | None] | None = None,
) -> ImportOutcome:
    """Import a file in the caller's transaction; with dry_run, only report what would change.

    `progress(written, total)` is called as batches of procedures are written.
    """
    outcome, plan = analyse_file(
        session,
        content=content,
        file_name=file_name,
        division_name=division_name,
        only_division=only_division,
        mapping=mapping,
        limits=limits,
    )
    if plan is None or outcome.duplicate_of is not None or dry_run:
        return outcome
    batch = store_batch(
        session,
        content=content,
        outcome=outcome,
        user_id=user_id,
        division_name=division_name,
        status="committed",
    )
    total, written = plan_size(plan), 0

    def advance(count: int) -> None:
        nonlocal written
        written += count
        if progress is not None:
            progress(written, total)

    apply_plan(session, plan, batch_id=batch.id, user_id=user_id, progress=advance)
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

    `progress(phase, done, total)` follows the phases read → compare → write.
    """
    batch = session.get(ImportBatch, batch_id)
    if batch is None or batch.status not in COMMITTABLE:
        raise LookupError(batch_id)
    report = progress or (lambda _phase, _done, _total: None)
    report("read", 0, batch.rows)
    division_name = None
    if batch.division_id:
        division_name = session.get(Division, batch.division_id).name
    only = division_name if batch.user_id and _is_division_user(session, batch.user_id) else None
    outcome, plan = analyse_file(
        session,
        content=batch.content,
        file_name=batch.file_name,
        division_name=division_name,
        only_division=only,
        mapping=batch_mapping(batch),
        on_parsed=lambda rows: report("compare", rows, rows),
    )
    if plan is None or outcome.duplicate_of is not None:
        return outcome
    total, written = plan_size(plan), 0
    report("write", 0, total)

    def advance(count: int) -> None:
        nonlocal written
        written += count
        report("write", written, total)

    apply_plan(session, plan, batch_id=batch.id, user_id=user_id, progress=advance)
    save_mappings(session, outcome=outcome, division_name=division_name, user_id=user_id)
    batch.status = "committed"
    batch.created, batch.updated = outcome.created, outcome.updated
    batch.unchanged, batch.missing = outcome.unchanged, outcome.missing
    batch.errors = len(outcome.errors)
    session.add(batch)
    session.flush()
    outcome.batch_id = batch.id
    outcome.committed = True
    return outcome


def _is_division_user(session: Session, user_id: int) -> bool:
    from procedures.models import Role, User

    user = session.get(User, user_id)
    return user is not None and user.role == Role.division
