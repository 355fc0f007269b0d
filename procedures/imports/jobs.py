"""Long imports run beside the request that started them, reporting their progress.

A large file takes seconds to import. The request that confirms it only marks the batch
"running" and starts a thread in the same worker; the person's browser then polls the
progress (procedures.progress), which every worker can read. The import itself stays one
transaction: it lands whole or not at all.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, current_app
from sqlalchemy import update
from sqlmodel import Session

from importers.readers import release_free_memory
from procedures.core import db
from procedures.imports import progress
from procedures.imports.preview import ImportChanged
from procedures.imports.service import commit_previewed, note_saved_since
from procedures.models import ImportBatch

logger = logging.getLogger(__name__)


def runs_in_background(batch: ImportBatch) -> bool:
    """Whether a batch is large enough to import beside the request, with a progress page."""
    return batch.rows >= current_app.config["IMPORT_BACKGROUND_ROWS"]


def start_commit(batch: ImportBatch, user_id: int) -> None:
    """Mark the batch running (committed at once, so a second click is refused) and start it."""
    batch.status = "running"
    db.session().add(batch)
    db.commit()
    assert batch.id is not None  # a stored batch
    progress.start(batch.id, batch.rows)
    # The app itself, not the request-bound proxy, which the thread cannot use.
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy
    thread = threading.Thread(
        target=_run_commit, args=(app, batch.id, user_id), name=f"import-{batch.id}", daemon=True
    )
    threads = app.extensions.setdefault("import_threads", {})
    for ended in [key for key, other in threads.items() if not other.is_alive()]:
        del threads[ended]
    threads[batch.id] = thread
    thread.start()


def wait_for_imports(app: Flask, timeout: float = 60) -> None:
    """Wait for the app's background imports to end (tests, and an orderly shutdown)."""
    threads = app.extensions.get("import_threads", {})
    for thread in list(threads.values()):
        thread.join(timeout)
    threads.clear()


def _run_commit(app: Flask, batch_id: int, user_id: int) -> None:
    _commit_in_background(app, batch_id, user_id)
    release_free_memory()  # the file's rows are freed now: hand the memory back


def _commit_in_background(app: Flask, batch_id: int, user_id: int) -> None:
    with app.app_context():
        session = db.session()
        try:
            outcome = commit_previewed(
                session,
                batch_id=batch_id,
                user_id=user_id,
                progress=lambda phase, done, total: progress.report(batch_id, phase, done, total),
            )
            if not outcome.committed:
                _refuse(session, batch_id, "duplicate" if outcome.duplicate_of else "refused")
                return
            db.commit()
            progress.finish(batch_id)
        except ImportChanged as refusal:
            _refuse(session, batch_id, "changed_meanwhile", stale=refusal)
        except Exception:
            logger.exception("import of batch %s failed", batch_id)
            _refuse(session, batch_id, "failed")


def _refuse(
    session: Session, batch_id: int, error: str, *, stale: ImportChanged | None = None
) -> None:
    """Nothing of the import stays; the batch can be confirmed again, and progress says why.

    Refused for saves since the preview (`stale`), the batch notes which procedures, and its
    preview page lists them and offers to preview again (as after a refused commit in the
    request, procedures.imports.views.commit).
    """
    session.rollback()
    if stale is not None:
        note_saved_since(session, batch_id, stale)
        db.commit()
    _back_to_preview(batch_id)
    progress.fail(batch_id, error)


def _back_to_preview(batch_id: int) -> None:
    with db.engine().begin() as connection:
        connection.execute(
            update(ImportBatch.__table__)
            .where(ImportBatch.__table__.c.id == batch_id)
            .values(status="previewed")
        )
