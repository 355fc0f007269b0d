"""planentry.procedure_id without its foreign key: the plan is rewritten whole by each recompute

Every recompute deletes the plan and writes it again from procedures read in the same
transaction; checking each of 75,000 rows against procedure cost a quarter of the write on
PostgreSQL (and a share lock on every procedure row). The one path that deletes procedures,
undoing an import, deletes their plan entries first.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 13:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: SQLite's copy of the table reflects the constraint unnamed: name it to drop it.
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
#: The constraint's name: as NAMING gives it on SQLite, PostgreSQL's own default elsewhere.
#: Downgrading creates it under the same name, so that upgrading again finds it.
SQLITE_NAME = "fk_planentry_procedure_id_procedure"
POSTGRES_NAME = "planentry_procedure_id_fkey"


def _name() -> str:
    return SQLITE_NAME if op.get_bind().dialect.name == "sqlite" else POSTGRES_NAME


def upgrade() -> None:
    with op.batch_alter_table("planentry", naming_convention=NAMING) as batch:
        batch.drop_constraint(_name(), type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("planentry") as batch:
        batch.create_foreign_key(_name(), "procedure", ["procedure_id"], ["id"])
