"""login attempts for throttling

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 14:51:55
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "loginattempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_loginattempt"),
    )
    op.create_index("ix_loginattempt_login_at", "loginattempt", ["login", "at"])
    op.create_index("ix_loginattempt_address_at", "loginattempt", ["address", "at"])


def downgrade() -> None:
    op.drop_index("ix_loginattempt_address_at", table_name="loginattempt")
    op.drop_index("ix_loginattempt_login_at", table_name="loginattempt")
    op.drop_table("loginattempt")
