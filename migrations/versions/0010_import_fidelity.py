"""Import fidelity: the words the tool did not understand, value decisions, scope and undo.

procedure.raw_values keeps what a division wrote in a field the tool could not read;
savedmapping.value_map and importbatch.value_map keep a person's decisions on such values;
importbatch.scope records whether a file was the whole inventory of its divisions;
importbatch.undo, reverted_at and reverted_by let a committed import be reverted.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 22:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("procedure") as batch:
        batch.add_column(sa.Column("raw_values", sa.Text(), nullable=True))
    with op.batch_alter_table("savedmapping") as batch:
        batch.add_column(sa.Column("value_map", sa.Text(), nullable=True))
    with op.batch_alter_table("importbatch") as batch:
        batch.add_column(sa.Column("value_map", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True)
        )
        batch.add_column(sa.Column("undo", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("reverted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch.add_column(sa.Column("reverted_by", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_importbatch_reverted_by_user", "user", ["reverted_by"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("importbatch") as batch:
        batch.drop_constraint("fk_importbatch_reverted_by_user", type_="foreignkey")
        batch.drop_column("reverted_by")
        batch.drop_column("reverted_at")
        batch.drop_column("undo")
        batch.drop_column("scope")
        batch.drop_column("value_map")
    with op.batch_alter_table("savedmapping") as batch:
        batch.drop_column("value_map")
    with op.batch_alter_table("procedure") as batch:
        batch.drop_column("raw_values")
