"""Rows written through PostgreSQL's ``COPY`` (psycopg 3), in the caller's transaction.

For the bulk writes of the product — an import's sessions and their audit rows, a verification
batch's checks, the gateway's sent messages, the scale world — where a bulk ``INSERT``'s cost is
psycopg building its parameters in Python. Rows are plain tuples in the order of ``columns``
(model field names); a column left out takes the table's default, not the model's, so every
column without a database default is named.
"""

from collections.abc import Iterable, Sequence

from django.db import connection, models


def copy_statement(model: type[models.Model], columns: Sequence[str]) -> str:
    """``COPY <table> (<columns>) FROM STDIN`` for ``model``'s fields named ``columns``, as text (so
    the query logs show it as SQL)."""
    meta = model._meta
    quote = connection.ops.quote_name
    names = ", ".join(quote(meta.get_field(name).column) for name in columns)
    return f"COPY {quote(meta.db_table)} ({names}) FROM STDIN"


def copy_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Write ``rows`` (tuples in the order of ``columns``) into ``model``'s table through one
    ``COPY``; answer how many were written. Database errors come as Django's."""
    written = 0
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.copy(copy_statement(model, columns)) as copy,
    ):
        for row in rows:
            copy.write_row(row)
            written += 1
    return written
