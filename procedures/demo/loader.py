"""The demo municipality: generated procedures loaded through the import path, then planned."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from importers.inventory import ParsedRow
from procedures.demo.generator import generate_demo_municipality
from procedures.imports.apply import apply_plan, store_batch
from procedures.imports.preview import ImportOutcome, compare_rows
from procedures.models import Procedure
from procedures.plan.schedule import recompute_plan

#: The status of the import batch that holds the demo city: it marks a database as the demo.
DEMO_BATCH_STATUS = "demo"


def load_demo(session: Session) -> ImportOutcome | None:
    """Load the demo city into an empty database and plan it; do nothing if data exists.

    The plan starts at the current fiscal year (Japan time), as a DX office's plan would.

    Never touching a database that has procedures keeps `make run` from undoing a
    person's edits when it is run again.
    """
    if session.execute(select(func.count()).select_from(Procedure)).scalar_one():
        return None
    rows = [
        ParsedRow(sheet="demo", row=index, values=values, extra={})
        for index, values in enumerate(generate_demo_municipality(), start=1)
    ]
    outcome = ImportOutcome(file_name="demo municipality (generated)", sha256="demo")
    plan = compare_rows(session, rows, outcome)
    outcome.rows = len(rows)
    # The demo is recorded as an import batch so every procedure's history starts somewhere.
    batch = store_batch(
        session,
        content=b"",
        outcome=outcome,
        user_id=None,
        division_name=None,
        status=DEMO_BATCH_STATUS,
    )
    apply_plan(session, plan, batch_id=batch.id, user_id=None)
    recompute_plan(session)
    return outcome
