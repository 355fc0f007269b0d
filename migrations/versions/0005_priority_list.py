"""national priority list and its matches to city procedures

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 14:51:55

Written by hand. The seed is the municipal 27 of the national plan for municipal DX
(自治体DX推進計画, 総務省, 2020-12-25), kept here so that this migration's result never changes
when the live list file (procedures/priority/data/priority_procedures.csv) is edited.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEED = (
    ('child_care', '児童手当等の受給資格及び児童手当の額についての認定請求'),
    ('child_care', '児童手当等の額の改定の請求及び届出'),
    ('child_care', '氏名変更／住所変更等の届出'),
    ('child_care', '受給事由消滅の届出'),
    ('child_care', '未支払の児童手当等の請求'),
    ('child_care', '児童手当等に係る寄附の申出'),
    ('child_care', '児童手当に係る寄附変更等の申出'),
    ('child_care', '受給資格者の申出による学校給食費等の徴収等の申出'),
    ('child_care', '同・変更等の申出'),
    ('child_care', '児童手当の現況届'),
    ('child_care', '支給認定の申請'),
    ('child_care', '保育施設等の利用申込'),
    ('child_care', '保育施設等の現況届'),
    ('child_care', '児童扶養手当の現況届の事前送信'),
    ('child_care', '妊娠の届出'),
    ('nursing_care', '要介護・要支援認定の申請'),
    ('nursing_care', '要介護・要支援更新認定の申請'),
    ('nursing_care', '要介護・要支援状態区分変更認定の申請'),
    ('nursing_care', '居宅（介護予防）サービス計画作成（変更）依頼の届出'),
    ('nursing_care', '介護保険負担割合証の再交付申請'),
    ('nursing_care', '被保険者証の再交付申請'),
    ('nursing_care', '高額介護（予防）サービス費の支給申請'),
    ('nursing_care', '介護保険負担限度額認定申請'),
    ('nursing_care', '居宅介護（介護予防）福祉用具購入費の支給申請'),
    ('nursing_care', '居宅介護（介護予防）住宅改修費の支給申請'),
    ('nursing_care', '住所移転後の要介護・要支援認定申請'),
    ('disaster', 'り災証明書の発行申請'),
)
SEED_REVISION = '2020-12 自治体DX推進計画'


def _seed_rows() -> list[dict]:
    now = datetime.now(UTC)
    return [
        {'revision': SEED_REVISION, 'category': category, 'position': position,
         'name': name, 'active': True, 'created_at': now}
        for position, (category, name) in enumerate(SEED, start=1)
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
