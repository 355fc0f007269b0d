"""user.language: the interface language a user chose, applied again at each sign-in

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user") as batch:
        # Existing users have chosen nothing yet: NULL keeps whatever the session says.
        batch.add_column(
            sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.drop_column("language")
