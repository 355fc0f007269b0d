"""national priority list and its matches to city procedures

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 15:00:00

Written by hand; the 27 procedures of the seed are read from procedures/data/priority_procedures.csv
(lines starting with # are comments, then a header row "category,name").
"""

import csv
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEED = Path(__file__).resolve().parents[2] / 'procedures' / 'data' / 'priority_procedures.csv'
SEED_REVISION = '2020-12 自治体DX推進計画'


def _seed_rows() -> list[dict]:
    lines = [line for line in SEED.read_text(encoding='utf-8').splitlines() if line.strip() and not line.startswith('#')]
    now = datetime.now(UTC)
    return [
        {'revision': SEED_REVISION, 'category': row['category'].strip(), 'position': position,
         'name': row['name'].strip(), 'active': True, 'created_at': now}
        for position, row in enumerate(csv.DictReader(lines), start=1)
    ]


def upgrade() -> None:
    priority = op.create_table('priorityprocedure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('revision', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name='pk_priorityprocedure')
    )
    with op.batch_alter_table('priorityprocedure', schema=None) as batch_op:
        batch_op.create_index('ix_priorityprocedure_active', ['active'], unique=False)

    op.create_table('prioritymatch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('priority_procedure_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], name='fk_prioritymatch_procedure_id'),
    sa.ForeignKeyConstraint(['priority_procedure_id'], ['priorityprocedure.id'], name='fk_prioritymatch_priority_procedure_id'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name='fk_prioritymatch_user_id'),
    sa.PrimaryKeyConstraint('id', name='pk_prioritymatch'),
    sa.UniqueConstraint('procedure_id', 'priority_procedure_id', name='uq_prioritymatch_pair')
    )
    with op.batch_alter_table('prioritymatch', schema=None) as batch_op:
        batch_op.create_index('ix_prioritymatch_procedure_id', ['procedure_id'], unique=False)
        batch_op.create_index('ix_prioritymatch_priority_procedure_id', ['priority_procedure_id'], unique=False)
        batch_op.create_index('ix_prioritymatch_status', ['status'], unique=False)

    op.bulk_insert(priority, _seed_rows())


def downgrade() -> None:
    op.drop_table('prioritymatch')
    op.drop_table('priorityprocedure')
