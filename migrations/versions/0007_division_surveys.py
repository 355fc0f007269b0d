"""yearly survey workbooks per division: generated and answered

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 17:02:20
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "divisionsurvey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("division_id", sa.Integer(), nullable=False),
        sa.Column("generated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("generated_by", sa.Integer(), nullable=True),
        sa.Column("answered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("answer_batch_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["division_id"], ["division.id"], name="fk_divisionsurvey_division_id"
        ),
        sa.ForeignKeyConstraint(
            ["generated_by"], ["user.id"], name="fk_divisionsurvey_generated_by"
        ),
        sa.ForeignKeyConstraint(["answered_by"], ["user.id"], name="fk_divisionsurvey_answered_by"),
        sa.ForeignKeyConstraint(
            ["answer_batch_id"], ["importbatch.id"], name="fk_divisionsurvey_answer_batch_id"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_divisionsurvey"),
        sa.UniqueConstraint("fiscal_year", "division_id", name="uq_divisionsurvey_year_division"),
    )
    op.create_index("ix_divisionsurvey_fiscal_year", "divisionsurvey", ["fiscal_year"])
    op.create_index("ix_divisionsurvey_division_id", "divisionsurvey", ["division_id"])


def downgrade() -> None:
    op.drop_index("ix_divisionsurvey_division_id", table_name="divisionsurvey")
    op.drop_index("ix_divisionsurvey_fiscal_year", table_name="divisionsurvey")
    op.drop_table("divisionsurvey")
