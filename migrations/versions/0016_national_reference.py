"""The national inventory as a reference: its loads, their entries, and the city's links to them

A load keeps the file's name, hash, who and when; its entries the fields a review compares. A
link gives a city procedure its national 手続ID (or remembers a rejected suggestion) and
carries the review flag a newer load raises.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "nationalload",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("file_name", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("loaded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Integer(), nullable=False),
    )
    op.create_table(
        "nationalentry",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("load_id", sa.Integer(), sa.ForeignKey("nationalload.id"), nullable=False),
        sa.Column("national_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_key", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=True),
        sa.Column("ministry", sa.Text(), nullable=True),
        sa.Column("online_status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("blockers", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("identity_check", sa.Integer(), nullable=True),
        sa.Column("annual_volume", sa.Integer(), nullable=True),
        sa.Column("online_volume", sa.Integer(), nullable=True),
        sa.Column("offline_volume", sa.Integer(), nullable=True),
        sa.UniqueConstraint("load_id", "national_id", name="uq_nationalentry_load_national"),
    )
    op.create_table(
        "nationallink",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("procedure_id", sa.Integer(), sa.ForeignKey("procedure.id"), nullable=False),
        sa.Column("national_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("load_id", sa.Integer(), sa.ForeignKey("nationalload.id"), nullable=True),
        sa.Column("changes", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("flagged_load_id", sa.Integer(), sa.ForeignKey("nationalload.id"), nullable=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.UniqueConstraint(
            "procedure_id", "national_id", name="uq_nationallink_procedure_national"
        ),
    )
    op.create_index("ix_nationallink_status", "nationallink", ["status"])


def downgrade() -> None:
    op.drop_index("ix_nationallink_status", table_name="nationallink")
    op.drop_table("nationallink")
    op.drop_table("nationalentry")
    op.drop_table("nationalload")
