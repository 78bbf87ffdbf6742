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
import io
import re
from decimal import Decimal

import xlsxwriter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_STARTS)  # each one character: a text cell's first is looked up

# Every Unicode control character (category Cc: C0, DEL and C1) except tab, line feed and
# carriage return.
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

_NUMBERS = (int, float, Decimal)
_NUMBER_CLASSES = frozenset(_NUMBERS)  # exactly these (a bool is an int, but not of these classes)


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
    which Excel cannot hold, is its ISO 8601 text.

    ``append`` is the inner loop of every large export (tens of thousands of rows, a dozen cells
    each), so the common cells take the shortest path: a text cell is one ``isprintable()`` test (a
    C call that is true for ordinary text; only text that fails it is searched for control
    characters), one look at its first character and one call to XlsxWriter's undecorated
    ``_write_string``; a number, one call to ``_write_number``. The public ``write_string`` and
    ``write_number`` only add an A1-notation check of the row argument on every call (a fifth of a
    large workbook's time); they are used instead should a later XlsxWriter not have the undecorated
    methods.
    """

    def __init__(self, workbook: "SafeWorkbook", worksheet) -> None:
        self._workbook = workbook
        self._sheet = worksheet
        self._row = 0
        self._write_string = getattr(worksheet, "_write_string", worksheet.write_string)
        self._write_number = getattr(worksheet, "_write_number", worksheet.write_number)
        self._quoted = workbook.quoted

    def append(self, values, number_formats: dict[int, str] | None = None) -> None:
        row = self._row
        self._row = row + 1
        write_string, quoted = self._write_string, self._quoted
        column = -1
        for value in values:
            column += 1
            if value.__class__ is str:  # most cells: tested first, inline
                if not value.isprintable():
                    value = without_control_characters(value)
                if value:  # an empty string is an empty cell
                    write_string(row, column, value, quoted if value[0] in _FORMULA_FIRST else None)
            elif value.__class__ in _NUMBER_CLASSES:  # amounts, ids: no formula, no text
                number_format = number_formats.get(column) if number_formats else None
                self._write_number(row, column, value, self._workbook.format(number_format))
            elif value is not None:
                self._append_value(row, column, value, number_formats)

    def _append_value(self, row: int, column: int, value, number_formats: dict[int, str] | None) -> None:
        """A cell that is not text: a boolean, a number, a date, or anything else as its text."""
        if value.__class__ is bool:
            self._sheet.write_boolean(row, column, value)
        elif _is_number(value):
            number_format = number_formats.get(column) if number_formats else None
            self._write_number(row, column, value, self._workbook.format(number_format))
        elif isinstance(value, dt.datetime | dt.date) and getattr(value, "tzinfo", None) is None:
            is_datetime = isinstance(value, dt.datetime)
            self._sheet.write_datetime(
                row, column, value, self._workbook.format(DATETIME_FORMAT if is_datetime else DATE_FORMAT)
            )
        else:
            if isinstance(value, dt.datetime | dt.time) and value.tzinfo is not None:
                value = value.isoformat()
            self.append_text(row, column, str(value))

    def append_text(self, row: int, column: int, text: str) -> None:
        """A string cell: control characters removed, quoted when it begins like a formula; an
        empty string is an empty cell."""
        if not text.isprintable():
            text = without_control_characters(text)
        if text:
            self._write_string(row, column, text, self._quoted if text[0] in _FORMULA_FIRST else None)


class _RowFile:
    """The temporary file a constant-memory XlsxWriter worksheet writes its rows to, opened for
    writing only until XlsxWriter reads it back.

    XlsxWriter 3.3 opens that file ``"w+"``. A text file that can also be read resets its decoder
    (a Python-level ``codecs`` call) on every ``write()``, and XlsxWriter writes once per cell: a
    tenth of a large workbook's time. This file writes through a write-only text file with the same
    encoding and newline handling, so the bytes are the same; XlsxWriter's one ``seek(0)`` before it
    copies the rows into the sheet's XML reopens the file for reading.
    """

    def __init__(self, filename: str) -> None:
        self._filename = filename
        self._file = open(filename, "w", encoding="utf-8")  # noqa: SIM115 (closed by XlsxWriter)
        self.write = self._file.write  # the inner loop: XlsxWriter calls it directly

    @classmethod
    def install(cls, worksheet) -> None:
        """Give ``worksheet`` a ``_RowFile`` when it has XlsxWriter's own, still empty, row file;
        leave it as it is otherwise (another XlsxWriter version, say)."""
        own = getattr(worksheet, "row_data_fh", None)
        filename = getattr(worksheet, "row_data_filename", None)
        if not (
            isinstance(own, io.TextIOWrapper)
            and own.mode == "w+"
            and worksheet.fh is own
            and filename
            and own.tell() == 0
            and not getattr(worksheet, "row_data_fh_closed", True)
        ):
            return
        own.close()
        worksheet.row_data_fh = worksheet.fh = cls(filename)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._file.close()
        self._file = open(self._filename, encoding="utf-8")  # noqa: SIM115
        self.write = self._file.write
        return self._file.seek(offset, whence)

    def read(self, size: int = -1) -> str:
        return self._file.read(size)

    def close(self) -> None:
        self._file.close()


def _install_plain_value_escapes(worksheet) -> None:
    """Let ``worksheet`` skip XlsxWriter's escapes of values that have nothing to escape.

    In constant-memory mode XlsxWriter runs two regular-expression substitutions over every text
    cell as it writes it (control characters become ``_xHHHH_``, a literal ``_xHHHH_`` gets its
    underscore escaped, U+FFFE and U+FFFF escaped): a sixth of a large workbook's time, for cells
    that almost never hold any of these. Text that is printable (no control character, no
    noncharacter) and has no ``_x`` comes back unchanged from that escape, so it is returned at
    once. Likewise a cell's style number, an ``int`` attribute, is returned by XlsxWriter's
    attribute escape only after a regular expression raised ``TypeError`` on it. Anything else goes
    through XlsxWriter's own escapes: the bytes are the same either way.
    """
    escape_text = getattr(worksheet, "_escape_control_characters", None)
    if escape_text is not None:

        def escape_unless_plain(data):
            if data.__class__ is str and data.isprintable() and "_x" not in data:
                return data
            return escape_text(data)

        worksheet._escape_control_characters = escape_unless_plain

    escape_attribute = getattr(worksheet, "_escape_attributes", None)
    if escape_attribute is not None:

        def escape_unless_number(attribute):
            return attribute if attribute.__class__ is int else escape_attribute(attribute)

        worksheet._escape_attributes = escape_unless_number


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
        worksheet = self._book.add_worksheet(name)
        _RowFile.install(worksheet)
        _install_plain_value_escapes(worksheet)
        return SafeSheet(self, worksheet)

    def __enter__(self) -> "SafeWorkbook":
        return self

    def __exit__(self, *exc) -> None:
        self._book.close()
