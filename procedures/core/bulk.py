"""Bulk writes: batches of value tuples straight to the database driver.

Used by the importer for tens of thousands of rows: no ORM object and no SQLAlchemy parameter
processing per row, one statement per batch (one COPY on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Table, func, select, text

#: Fewest new rows for which SQLite's indexes are dropped and built again (see below).
REBUILD_MIN_ROWS = 10_000


@dataclass(slots=True)
class ColumnBatch:
    """A batch of rows held column by column, in the order of bulk_insert's columns.

    Every column must hold values of one type (a field's converter's), as the importer's do:
    a column is taken for constant when all its values are equal.
    """

    columns: list[Sequence[Any]]
    size: int

    def __len__(self) -> int:
        return self.size

    def rows(self) -> list[tuple]:
        """Return the batch as one tuple per row."""
        return list(zip(*self.columns, strict=True))


def bulk_insert(
    connection: Connection,
    table: Table,
    columns: tuple[str, ...],
    batches: Iterable[list[tuple] | ColumnBatch],
    on_batch: Callable[[int], None] | None = None,
) -> None:
    """Insert batches of value tuples: one COPY on PostgreSQL, one executemany per batch else.

    On PostgreSQL the single COPY streams: the server stores rows while the next batch is being
    built. The values go to the database driver as they are, so they must already be in the
    form the driver takes (see bind_value for the ones SQLAlchemy would convert).
    A ColumnBatch's columns that hold one value in every row are written into SQLite's
    statement as constants instead of being bound again for each row.
    `on_batch(rows)` is called once each batch is written.
    """
    written = on_batch or (lambda _rows: None)
    quote = connection.dialect.identifier_preparer.quote
    column_list = ", ".join(quote(name) for name in columns)
    if connection.dialect.name == "postgresql":
        dbapi_connection = connection.connection.dbapi_connection
        assert dbapi_connection is not None  # the connection is open: it is in a transaction
        cursor = dbapi_connection.cursor()
        with cursor.copy(f"COPY {quote(table.name)} ({column_list}) FROM STDIN") as copy:
            for batch in batches:
                for row in batch.rows() if isinstance(batch, ColumnBatch) else batch:
                    copy.write_row(row)
                written(len(batch))
        return
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    statement = (
        f"INSERT INTO {quote(table.name)} ({column_list}) "
        f"VALUES ({', '.join([marker] * len(columns))})"
    )
    for batch in batches:
        if not batch:
            continue
        if isinstance(batch, ColumnBatch):
            connection.exec_driver_sql(*_with_constants(table.name, columns, batch, quote))
        else:
            connection.exec_driver_sql(statement, batch)
        written(len(batch))


def _with_constants(
    table_name: str, names: tuple[str, ...], batch: ColumnBatch, quote: Callable[[str], str]
) -> tuple[str, list[tuple]]:
    """Return SQLite's INSERT of a batch, its constant columns written as SQL literals."""
    bound: list[tuple[str, Sequence[Any]]] = []
    constants: list[tuple[str, Sequence[Any], str]] = []
    for name, column in zip(names, batch.columns, strict=True):
        literal = _sql_literal(column[0])
        # list.count compares by identity first: a column of one shared value costs little.
        if literal is not None and column.count(column[0]) == batch.size:
            constants.append((name, column, literal))
        else:
            bound.append((name, column))
    if not bound:  # a single row, or rows all alike: the driver needs a column to iterate
        name, column, _literal = constants.pop(0)
        bound.append((name, column))
    ordered = [name for name, _ in bound] + [name for name, _, _ in constants]
    column_list = ", ".join(map(quote, ordered))
    values = ", ".join(["?"] * len(bound) + [literal for _, _, literal in constants])
    statement = f"INSERT INTO {quote(table_name)} ({column_list}) VALUES ({values})"
    return statement, list(zip(*(column for _, column in bound), strict=True))


def _sql_literal(value: Any) -> str | None:
    """Return value as an SQLite literal storing what binding it would, or None if not simple."""
    if value is None:
        return "NULL"
    if type(value) is bool:
        return "1" if value else "0"
    if type(value) is int and -(2**63) <= value < 2**63:
        return str(value)
    if type(value) is str and value.isprintable():  # no NUL, line break or lone surrogate
        return "'" + value.replace("'", "''") + "'"
    return None


def bind_value(connection: Connection, column: Column[Any], value: Any) -> Any:
    """Convert one value the way SQLAlchemy would before handing it to the driver."""
    dialect = connection.dialect
    processor = column.type.dialect_impl(dialect).bind_processor(dialect)
    return processor(value) if processor else value


#: A table's own indexes, not those behind its primary key or a constraint.
_SQLITE_INDEXES = (
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :table "
    "AND sql IS NOT NULL ORDER BY name"
)
_POSTGRES_INDEXES = (
    "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
    "JOIN pg_class i ON i.oid = x.indexrelid "
    "WHERE x.indrelid = to_regclass(:table) AND NOT x.indisprimary AND NOT x.indisunique "
    "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
    "ORDER BY i.relname"
)


def _large_load(
    connection: Connection, table: Table, new_rows: int, dialects: tuple[str, ...]
) -> bool:
    """Whether an insert is worth loading first and indexing or checking after.

    At least REBUILD_MIN_ROWS rows, and on SQLite no fewer than the table holds; on
    PostgreSQL only into an empty table (see indexes_built_after for why).
    """
    if new_rows < REBUILD_MIN_ROWS or connection.dialect.name not in dialects:
        return False
    held = connection.execute(select(func.count()).select_from(table)).scalar_one()
    return held <= (new_rows if connection.dialect.name == "sqlite" else 0)


def table_indexes(connection: Connection, table: Table) -> list[tuple[str, str]]:
    """Return (name, CREATE INDEX statement) of a table's own indexes, by name."""
    query = _POSTGRES_INDEXES if connection.dialect.name == "postgresql" else _SQLITE_INDEXES
    return [tuple(row) for row in connection.execute(text(query), {"table": table.name})]


@contextmanager
def indexes_built_after(connection: Connection, table: Table, new_rows: int) -> Iterator[None]:
    """Drop a table's indexes for a large insert and build them once it is done.

    Building an index from all its keys at once is cheaper than keeping it in order row by
    row: 75,071 procedures go into an empty SQLite table in 0.6 s without indexes and 0.35 s
    to build them, against 1.1 s with them; PostgreSQL's COPY takes 2.2 s and the build 1.0 s,
    against 4.0 s. All inside the caller's transaction, so a rollback brings the indexes back.

    On SQLite, done when the insert is at least as large as what the table holds: readers see
    the old table and its indexes until the commit. On PostgreSQL, only into an empty table
    (a city's first inventory): dropping an index locks the table until the commit, so other
    clerks' pages wait those seconds, and there is nothing yet for them to read.
    """
    if not _large_load(connection, table, new_rows, ("sqlite", "postgresql")):
        yield
        return
    indexes = table_indexes(connection, table)
    quote = connection.dialect.identifier_preparer.quote
    for name, _sql in indexes:
        connection.exec_driver_sql(f"DROP INDEX {quote(name)}")

    def build() -> None:
        for _name, sql in indexes:
            connection.exec_driver_sql(sql)

    try:
        yield
    except BaseException:
        # The caller rolls back; on SQLite the indexes must not stay dropped meanwhile (on
        # PostgreSQL the failed transaction refuses the build, and the rollback restores them).
        with suppress(Exception):
            build()
        raise
    build()


_POSTGRES_FOREIGN_KEYS = (
    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE conrelid = to_regclass(:table) AND contype = 'f' ORDER BY conname"
)


@contextmanager
def foreign_keys_checked_after(
    connection: Connection, filled: Table, tables: Iterable[Table], new_rows: int
) -> Iterator[None]:
    """On PostgreSQL, check the tables' foreign keys once after a first large load, not per row.

    PostgreSQL checks each new row's references with a trigger of its own: for the national
    inventory that is 300,000 look-ups (a division and a batch for each procedure, a procedure
    and a batch for each audit entry), 0.8 s of the audit INSERT alone. Dropping the
    constraints and adding them back checks every row in one query each, as PostgreSQL's
    manual advises for loading a database. Done, like indexes_built_after, only when `filled`
    is empty, inside the caller's transaction: a rollback brings the constraints back, and a
    reference gone wrong fails the import when they are added back.
    """
    if not _large_load(connection, filled, new_rows, ("postgresql",)):
        yield
        return
    quote = connection.dialect.identifier_preparer.quote
    dropped = []
    for table in tables:
        for name, definition in connection.execute(
            text(_POSTGRES_FOREIGN_KEYS), {"table": table.name}
        ):
            connection.exec_driver_sql(
                f"ALTER TABLE {quote(table.name)} DROP CONSTRAINT {quote(name)}"
            )
            dropped.append((table.name, name, definition))
    yield  # on failure the caller rolls back, which restores the constraints
    for table_name, name, definition in dropped:
        connection.exec_driver_sql(
            f"ALTER TABLE {quote(table_name)} ADD CONSTRAINT {quote(name)} {definition}"
        )
