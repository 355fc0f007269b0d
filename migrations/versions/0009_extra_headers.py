"""Extra columns name their header by id: each header's text is written once, in extraheader.

procedure.extra changes from {header: text} to {header id: text}; existing rows are converted.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 18:12:41
"""

import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000

procedure = sa.table("procedure", sa.column("id", sa.Integer), sa.column("extra", sa.Text))
extraheader = sa.table(
    "extraheader",
    sa.column("id", sa.Integer),
    sa.column("digest", sa.String),
    sa.column("text", sa.Text),
)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _dumps(cells: dict) -> str:
    return json.dumps(cells, ensure_ascii=False, separators=(",", ":"))


def _rewrite(convert) -> None:
    """Rewrite every procedure's extra through convert(dict) -> dict, in batches."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(procedure.c.id, procedure.c.extra).where(procedure.c.extra.is_not(None))
    ).all()
    updates = []
    for ident, extra in rows:
        try:
            cells = json.loads(extra)
        except ValueError:
            continue  # not JSON: left as it is
        if isinstance(cells, dict) and cells:
            updates.append({"_id": ident, "extra": _dumps(convert(cells))})
    statement = (
        procedure.update()
        .where(procedure.c.id == sa.bindparam("_id"))
        .values(extra=sa.bindparam("extra"))
    )
    for start in range(0, len(updates), BATCH):
        connection.execute(statement, updates[start : start + BATCH])


def upgrade() -> None:
    op.create_table(
        "extraheader",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    connection = op.get_bind()
    ids: dict[str, int] = {}

    def header_id(text: str) -> int:
        if text not in ids:
            digest = _digest(text)
            connection.execute(extraheader.insert().values(digest=digest, text=text))
            ids[text] = connection.execute(
                sa.select(extraheader.c.id).where(extraheader.c.digest == digest)
            ).scalar_one()
        return ids[text]

    _rewrite(lambda cells: {str(header_id(header)): text for header, text in cells.items()})


def downgrade() -> None:
    connection = op.get_bind()
    texts = dict(connection.execute(sa.select(extraheader.c.id, extraheader.c.text)).all())
    _rewrite(
        lambda cells: {
            texts.get(int(key), key) if key.isdigit() else key: text for key, text in cells.items()
        }
    )
    op.drop_table("extraheader")
