"""The session pages' files: the import template, the bad lines of an import written back as CSV,
and the SenderCompIDs of a file imported into a group.

Nothing is stored server side: the bad lines are re-encoded from the result and the upload of the
same request, and travel inside the page as a ``data:`` URL.
"""

import base64
import csv
import io
from dataclasses import dataclass, field

from dropcopy_admin.services.source_sessions import IMPORT_HEADER
from dropcopy_admin.spreadsheets import safe_csv_row

GROUP_IMPORT_COLUMN = "sender_comp_id"
GROUP_IMPORT_MAX_LINES = 10_000
"""A group's import requests at most this many sessions at once (a CGW target holds 1,000, an
MSGW one 5,000)."""


class FileRefused(Exception):
    """The whole file is refused; ``str(error)`` says why, in words."""


def template_csv() -> str:
    """The sessions import's header, and nothing else: a template uploaded unchanged stores nothing."""
    return ",".join(IMPORT_HEADER) + "\r\n"


def _rows(data: bytes):
    """``(line number, cells)`` of each row of a UTF-8 CSV file (a byte order mark allowed)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRefused("The file is not UTF-8 text: save it as CSV UTF-8 and upload it again.") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        raise FileRefused(f"The file is not valid CSV (line {reader.line_num}): {exc}.") from exc


def rows_at_lines(data: bytes, lines: set[int]) -> dict[int, list[str]]:
    """The cells of the rows that end on ``lines`` (the import's line numbers), read again."""
    found: dict[int, list[str]] = {}
    if not lines:
        return found
    last = max(lines)
    for line, row in _rows(data):
        if line in lines:
            found[line] = row
        if line >= last:
            break
    return found


def data_url(rows: list[list]) -> str:
    """A CSV of ``rows`` as a ``data:`` URL (cells made safe for spreadsheets)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(safe_csv_row(row))
    encoded = base64.b64encode(buffer.getvalue().encode("utf-8")).decode("ascii")
    return "data:text/csv;charset=utf-8;base64," + encoded


@dataclass
class BadLine:
    line: int
    sender_comp_id: str
    problem: str
    cells: list[str] = field(default_factory=list)


def session_import_bad_lines(data: bytes, errors: list[dict]) -> list[BadLine]:
    """The import's listed bad rows, each with its SenderCompID and its cells from the file."""
    rows = rows_at_lines(data, {error["line"] for error in errors})
    bad = []
    for error in errors:
        cells = rows.get(error["line"], [])
        sender_comp_id = cells[0].strip() if cells else ""
        bad.append(BadLine(error["line"], sender_comp_id, error["for_people"], cells))
    return bad


def bad_lines_data_url(bad_lines: list[BadLine], header: tuple[str, ...]) -> str:
    """The bad lines as a CSV to correct: line, problem, then the line's own cells."""
    rows = [["line", "problem", *header]]
    rows += [[bad.line, bad.problem, *bad.cells] for bad in bad_lines]
    return data_url(rows)


@dataclass
class SenderCompIdLine:
    line: int
    sender_comp_id: str


def group_import_lines(data: bytes) -> list[SenderCompIdLine]:
    """The SenderCompIDs of a file whose header has a ``sender_comp_id`` column (other columns are
    ignored), one per non-blank line, upper-cased; a line without one has an empty SenderCompID."""
    rows = _rows(data)
    header = next(rows, None)
    if header is None:
        raise FileRefused("The file is empty: it needs a header line with a sender_comp_id column.")
    names = [cell.strip().lower() for cell in header[1]]
    if GROUP_IMPORT_COLUMN not in names:
        raise FileRefused("The first line must be a header naming a sender_comp_id column.")
    column = names.index(GROUP_IMPORT_COLUMN)
    lines = []
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(lines) == GROUP_IMPORT_MAX_LINES:
            raise FileRefused(
                f"The file has more than {GROUP_IMPORT_MAX_LINES:,} lines; split it and upload each part."
            )
        value = row[column].strip().upper() if column < len(row) else ""
        lines.append(SenderCompIdLine(line, value))
    if not lines:
        raise FileRefused("The file has a header but no SenderCompID below it.")
    return lines
