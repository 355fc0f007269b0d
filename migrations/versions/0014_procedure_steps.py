"""Steps of a procedure and applications a year online and not online.

procedure.steps holds where each step is done, as JSON {step: status} (importers.steps);
procedure.online_volume and offline_volume the applications a year online and by any other
channel. The procedures already there get their application step from their online status,
as an import reads it (a frozen copy of importers/steps.json's rule: this result never
changes); their other steps stay unknown until a file or a person tells them.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Online status -> the stored steps of its application (importers/steps.json, 2026-12).
_APPLICATION = {
    "done": '{"application":"online"}',
    "partial": '{"application":"online"}',
    "not_done": '{"application":"offline"}',
    "excluded": '{"application":"not_applicable"}',
}


def upgrade() -> None:
    with op.batch_alter_table("procedure") as batch:
        batch.add_column(sa.Column("online_volume", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("offline_volume", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("steps", sa.Text(), nullable=True))
    procedure = sa.table("procedure", sa.column("online_status"), sa.column("steps"))
    status = procedure.c.online_status
    op.execute(
        procedure.update()
        .where(status.in_(list(_APPLICATION)))
        .values(steps=sa.case(*((status == key, text) for key, text in _APPLICATION.items())))
    )


def downgrade() -> None:
    with op.batch_alter_table("procedure") as batch:
        batch.drop_column("steps")
        batch.drop_column("offline_volume")
        batch.drop_column("online_volume")
