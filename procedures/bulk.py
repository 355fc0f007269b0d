"""Bulk writes: batches of value tuples straight to the database driver.

Used by the importer for tens of thousands of rows: no ORM object and no SQLAlchemy parameter
processing per row, one statement per batch (one COPY on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def bulk_insert(
    connection,
    table,
    columns: tuple[str, ...],
    batches: Iterable[list[tuple]],
    on_batch: Callable[[int], None] | None = None,
) -> None:
    """Insert batches of value tuples: one COPY on PostgreSQL, one executemany per batch else.

    On PostgreSQL the single COPY streams: the server stores rows while the next batch is being
    built. The values go to the database driver as they are, so they must already be in the
    form the driver takes (see bind_value for the ones SQLAlchemy would convert).
    `on_batch(rows)` is called once each batch is written.
    """
    written = on_batch or (lambda _rows: None)
    quote = connection.dialect.identifier_preparer.quote
    column_list = ", ".join(quote(name) for name in columns)
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.dbapi_connection.cursor()
        with cursor.copy(f"COPY {quote(table.name)} ({column_list}) FROM STDIN") as copy:
            for batch in batches:
                for row in batch:
                    copy.write_row(row)
                written(len(batch))
        return
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    statement = (
        f"INSERT INTO {quote(table.name)} ({column_list}) "
        f"VALUES ({', '.join([marker] * len(columns))})"
    )
    for batch in batches:
        if batch:
            connection.exec_driver_sql(statement, batch)
            written(len(batch))


def bind_value(connection, column, value: Any) -> Any:
    """Convert one value the way SQLAlchemy would before handing it to the driver."""
    dialect = connection.dialect
    processor = column.type.dialect_impl(dialect).bind_processor(dialect)
    return processor(value) if processor else value
