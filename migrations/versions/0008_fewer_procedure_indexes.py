"""Drop the procedure indexes that slowed imports more than they sped up reads.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 17:02:20
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DROPPED = {
    "ix_procedure_division_id": ["division_id"],
    "ix_procedure_visit_required": ["visit_required"],
    "ix_procedure_mynaportal_eligible": ["mynaportal_eligible"],
    "ix_procedure_verdict": ["verdict"],
    "ix_procedure_lifecycle": ["lifecycle"],
}


def upgrade() -> None:
    for name in DROPPED:
        op.drop_index(name, table_name="procedure")


def downgrade() -> None:
    for name, columns in DROPPED.items():
        op.create_index(name, "procedure", columns)
