"""Rows written through PostgreSQL's ``COPY`` (psycopg 3), in the caller's transaction, and
statements whose parameters are whole arrays (``execute_with_arrays``).

For the bulk writes of the product — an import's sessions and their audit rows, a verification
batch's checks, the gateway's sent messages, the scale world — where a bulk ``INSERT``'s cost is
psycopg building its parameters in Python. Rows are plain tuples in the order of ``columns``
(model field names); a column left out takes the table's default, not the model's, so every
column without a database default is named.
"""

from collections.abc import Iterable, Sequence

import psycopg
from django.db import connection, models


def copy_statement(model: type[models.Model], columns: Sequence[str], *, binary: bool = False) -> str:
    """``COPY <table> (<columns>) FROM STDIN`` for ``model``'s fields named ``columns``, as text (so
    the query logs show it as SQL); ``binary``: in PostgreSQL's binary format."""
    meta = model._meta
    quote = connection.ops.quote_name
    names = ", ".join(quote(meta.get_field(name).column) for name in columns)
    return f"COPY {quote(meta.db_table)} ({names}) FROM STDIN" + (" (FORMAT BINARY)" if binary else "")


def copy_rows(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence], *, binary: bool = False
) -> int:
    """Write ``rows`` (tuples in the order of ``columns``) into ``model``'s table through one
    ``COPY``; answer how many were written. Database errors come as Django's.

    ``binary`` sends the rows in PostgreSQL's binary format, each value as its column's type: for
    large ``bytea`` values, which the text format would send twice their size in hexadecimal.
    """
    written = 0
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.copy(copy_statement(model, columns, binary=binary)) as copy,
    ):
        if binary:
            copy.set_types([_column_type(model._meta.get_field(name)) for name in columns])
        for row in rows:
            copy.write_row(row)
            written += 1
    return written


def _column_type(field: models.Field) -> str:
    """The PostgreSQL type name of ``field``'s column, without its modifier (``varchar(4)`` → ``varchar``)."""
    return field.db_type(connection).split("(", 1)[0]


def execute_with_arrays(sql: str, params: Sequence) -> None:
    """Run ``sql`` (``%s`` placeholders) with its parameters bound by the server, in the caller's
    transaction. For statements over ``unnest`` of array parameters: Django's cursor inlines every
    element into the SQL text in Python; psycopg's own cursor sends the arrays as values. Database
    errors come as Django's; the statement does not appear in Django's query log."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
