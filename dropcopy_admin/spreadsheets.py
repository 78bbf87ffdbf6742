"""Cells that a spreadsheet shows as data and never runs: every CSV and XLSX the product writes.

A name typed by a user (a group called ``=HYPERLINK("http://…"&B2,"Invoice")``, say) must reach
finance's spreadsheet as that text, not as a live formula, and a stray control character in a note
must not stop a workbook from being written. So, for every text cell:

- control characters are removed (tab, line feed and carriage return inside the text are kept:
  they are ordinary in notes); an XLSX cannot hold most of them at all;
- text that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return — what Excel,
  LibreOffice and Google Sheets read as the start of a formula — is neutralised: in a CSV it is
  written with a leading ``'``; in an XLSX it is stored as a string with Excel's "quote prefix",
  so it shows exactly as typed and stays text when the cell is edited;
- in an XLSX every text cell is written as a string, never as a formula or an error value.

Numbers (ints, Decimals, floats) are not text: ``-125.50`` is a credit, written plainly in a CSV
and as a number in an XLSX. Dates and naive times stay dates in an XLSX.
"""

import datetime as dt
import re
from decimal import Decimal

import xlsxwriter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Every Unicode control character (category Cc: C0, DEL and C1) except tab, line feed and
# carriage return.
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

_NUMBERS = (int, float, Decimal)


def without_control_characters(text: str) -> str:
    """``text`` with its control characters removed (tab, line feed and carriage return kept)."""
    return _CONTROL_CHARACTERS.sub("", text)


def _is_number(value) -> bool:
    return isinstance(value, _NUMBERS) and not isinstance(value, bool)


def safe_csv_cell(value) -> str:
    """``value`` as the text of one CSV cell: control characters removed, a formula neutralised by
    a leading ``'``. Numbers are written plainly (``-125.50`` is a number, not a formula); ``None``
    is an empty cell."""
    if value is None:
        return ""
    if _is_number(value):
        return str(value)
    text = without_control_characters(str(value))
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_csv_row(values) -> list[str]:
    """A CSV row of ``safe_csv_cell``s."""
    return [safe_csv_cell(value) for value in values]


# --- fast workbooks (XlsxWriter) ------------------------------------------------------------------

_FIXED_CREATED = dt.datetime(2000, 1, 1)  # document properties fixed: the bytes depend on the rows only
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"


class SafeSheet:
    """One worksheet of a ``SafeWorkbook``: rows appended in order; numbers stay numbers, naive dates
    and times stay dates, anything else is a string cell (never a formula) without control
    characters, with Excel's quote prefix when it begins like a formula; a timezone-aware moment,
    which Excel cannot hold, is its ISO 8601 text."""

    def __init__(self, workbook: "SafeWorkbook", worksheet) -> None:
        self._workbook = workbook
        self._sheet = worksheet
        self._row = 0

    def append(self, values, number_formats: dict[int, str] | None = None) -> None:
        sheet = self._sheet
        row = self._row
        for column, value in enumerate(values):
            if value is None:
                continue
            kind = type(value)
            if kind is str:  # most cells: tested first
                self.append_text(row, column, value)
            elif kind is bool:
                sheet.write_boolean(row, column, value)
            elif _is_number(value):
                number_format = number_formats.get(column) if number_formats else None
                sheet.write_number(row, column, value, self._workbook.format(number_format))
            elif isinstance(value, dt.datetime | dt.date) and getattr(value, "tzinfo", None) is None:
                is_datetime = isinstance(value, dt.datetime)
                sheet.write_datetime(
                    row, column, value, self._workbook.format(DATETIME_FORMAT if is_datetime else DATE_FORMAT)
                )
            else:
                if isinstance(value, dt.datetime | dt.time) and value.tzinfo is not None:
                    value = value.isoformat()
                self.append_text(row, column, str(value))
        self._row += 1

    def append_text(self, row: int, column: int, text: str) -> None:
        """A string cell: control characters removed, quoted when it begins like a formula; an
        empty string is an empty cell."""
        if not text.isprintable():
            text = without_control_characters(text)
        if text:
            quoted = self._workbook.quoted if text.startswith(FORMULA_STARTS) else None
            self._sheet.write_string(row, column, text, quoted)


class SafeWorkbook:
    """An XLSX written by XlsxWriter in constant-memory mode: each row goes to a temporary file as
    it is appended (sheets are written one after another), so memory stays flat however many rows;
    several times faster than openpyxl. ``target`` is a path or a binary file object.

        with SafeWorkbook(out) as workbook:
            sheet = workbook.sheet("lines")
            sheet.append(["name", "amount"])
    """

    def __init__(self, target) -> None:
        self._book = xlsxwriter.Workbook(target, {"constant_memory": True, "strings_to_formulas": False})
        self._book.set_properties({"created": _FIXED_CREATED})
        self._formats: dict[tuple[str | None, bool], object] = {}
        self.quoted = self.format(None, quote_prefix=True)  # text that begins like a formula

    def format(self, number_format: str | None, *, quote_prefix: bool = False):
        key = (number_format, quote_prefix)
        if key == (None, False):
            return None
        if key not in self._formats:
            properties = {"num_format": number_format} if number_format else {}
            if quote_prefix:
                properties["quote_prefix"] = True
            self._formats[key] = self._book.add_format(properties)
        return self._formats[key]

    def sheet(self, name: str) -> SafeSheet:
        return SafeSheet(self, self._book.add_worksheet(name))

    def __enter__(self) -> "SafeWorkbook":
        return self

    def __exit__(self, *exc) -> None:
        self._book.close()
