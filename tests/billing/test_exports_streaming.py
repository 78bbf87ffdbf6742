"""Streamed exports of a draft run (R12): from the API, the admin and ``billing_export``, the same
content as the documents rendered at closing, written chunk by chunk."""

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing import exports
from billing.exports import CSV_HEADER
from billing.models import BillingLine, BillingRun, Tariff
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


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def groups(entity, count: int) -> None:
    for day in range(1, count + 1):
        factories.GroupFactory(
            entity=entity, environment=Environment.PRODUCTION, status=GroupStatus.ACTIVE, opened_at=utc(2025, 4, day)
        )


@pytest.fixture
def draft():
    """May 2025 as a draft: three entities (two billed to a payer), seven groups and a credit."""
    clock.freeze(utc(2025, 6, 15, 12))
    Tariff.objects.update_or_create(
        effective_month=dt.date(2025, 1, 1), defaults={"free_groups": 1, "monthly_fee": Decimal("500.00")}
    )
    payer = factories.EntityFactory(name='Payer, "Quoted" & Co')
    groups(payer, 3)
    groups(factories.EntityFactory(bill_to=payer), 2)
    groups(factories.EntityFactory(bill_to=payer), 2)
    run = billing_run_compute(actor=ACTOR, month=MAY)
    BillingLine.objects.create(
        run=run,
        entity=payer,
        bill_to=payer,
        amount=Decimal("-125.50"),
        reason="adjustment",
        corrects_month=dt.date(2025, 4, 1),
        note="April over-billed,\nsee ticket 42",
    )
    return billing_run_compute(actor=ACTOR, month=MAY)


def rendered_rows(run) -> list[dict]:
    """The rows closing renders from, for comparison."""
    return exports.line_rows(run, run.lines.select_related("entity", "bill_to", "group").order_by("id"))


def test_streamed_draft_csv_parses_and_sums_to_the_run_total(draft, am_api, monkeypatch):
    monkeypatch.setattr(exports, "BYTES_PER_CHUNK", 256)  # several chunks even for a small run

    response = am_api.get(f"{RUNS}2025-05/export.csv")

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="billing-2025-05.csv"'
    chunks = list(response.streaming_content)
    assert len(chunks) > 1
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode("utf-8"), newline="")))
    assert list(rows[0]) == CSV_HEADER
    assert len(rows) == draft.line_count == 8
    assert sum(Decimal(row["amount"]) for row in rows) == draft.total == Decimal("1874.50")
    (credit,) = (row for row in rows if row["reason"] == "adjustment")
    assert (credit["amount"], credit["note"]) == ("-125.50", "April over-billed,\nsee ticket 42")


def test_streamed_draft_csv_and_json_are_the_bytes_closing_would_render(draft):
    rows = rendered_rows(draft)

    assert b"".join(exports.draft_stream(draft, "csv")) == exports.render_csv(rows)
    assert b"".join(exports.draft_stream(draft, "json")) == exports.render_json(draft, rows)


def test_streamed_json_of_an_empty_draft_is_the_rendered_document():
    clock.freeze(utc(2025, 6, 15, 12))
    empty = billing_run_compute(actor=ACTOR, month=MAY)

    streamed = b"".join(exports.draft_stream(empty, "json"))

    assert streamed == exports.render_json(empty, [])
    assert json.loads(streamed)["lines"] == []


def test_streamed_json_totals_per_bill_to_come_from_the_aggregate(draft, am_api):
    document = json.loads(downloaded(am_api.get(f"{RUNS}2025-05/export.json")))

    assert document["total"] == "1874.50"
    assert len(document["lines"]) == 8
    assert document["totals"] == exports.totals_by_bill_to(rendered_rows(draft))
    assert sum(Decimal(total["total"]) for total in document["totals"]) == draft.total


def test_streamed_draft_xlsx_has_the_cells_of_the_rendered_workbook(draft, am_api):
    response = am_api.get(f"{RUNS}2025-05/export.xlsx")
    assert response.streaming

    streamed = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rendered = openpyxl.load_workbook(io.BytesIO(exports.render_xlsx(draft, rendered_rows(draft))))

    assert streamed.sheetnames == rendered.sheetnames == ["lines", "totals"]
    for name in streamed.sheetnames:
        assert list(streamed[name].values) == list(rendered[name].values)


def test_streamed_draft_export_reads_lines_in_a_constant_number_of_queries(draft):
    with CaptureQueriesContext(connection) as small:
        b"".join(exports.draft_stream(draft, "json"))
    groups(factories.EntityFactory(), 20)
    bigger = billing_run_compute(actor=ACTOR, month=MAY)

    with CaptureQueriesContext(connection) as large:
        b"".join(exports.draft_stream(bigger, "json"))

    assert bigger.line_count == 28
    assert len(large.captured_queries) == len(small.captured_queries) <= 2


def test_closed_run_export_is_not_streamed(draft, am_api):
    closed = billing_run_close(actor=ACTOR, month=MAY)

    response = am_api.get(f"{RUNS}2025-05/export.csv")

    assert not response.streaming
    assert response.content == bytes(closed.csv_bytes)


def test_admin_download_of_a_draft_streams_the_csv(draft, client):
    client.force_login(factories.UserFactory(role="account_manager"))
    url = reverse(f"admin:{BillingRun._meta.app_label}_{BillingRun._meta.model_name}_changelist")

    response = client.post(url, {"action": "download_csv", "_selected_action": [draft.pk]})

    assert response.status_code == 200
    assert response.streaming
    assert b"".join(response.streaming_content) == exports.render_csv(rendered_rows(draft))


def test_billing_export_streams_a_draft_to_stdout_with_progress_on_stderr(draft, capsysbinary):
    call_command("billing_export", "--month", "2025-05", "--format", "csv", "--output", "-")

    out, err = capsysbinary.readouterr()
    assert out == exports.render_csv(rendered_rows(draft))
    assert b"8/8" in err  # the progress bar: lines done / total
    assert b"Wrote standard output" in err


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_the_api_and_the_admin_answer_the_same_download(draft, am_api, client, fmt):
    client.force_login(factories.UserFactory(role="account_manager"))

    def both():
        admin_url = reverse("admin:billing_billingrun_download", args=[draft.pk, fmt])
        return am_api.get(f"{RUNS}2025-05/export.{fmt}"), client.get(admin_url)

    as_draft = both()
    billing_run_close(actor=ACTOR, month=MAY)
    as_closed = both()

    for api, admin in (as_draft, as_closed):
        assert (api.status_code, admin.status_code) == (200, 200)
        assert api.streaming == admin.streaming
        assert api["Content-Type"] == admin["Content-Type"] == exports.CONTENT_TYPES[fmt]
        assert (
            api["Content-Disposition"]
            == admin["Content-Disposition"]
            == f'attachment; filename="billing-2025-05.{fmt}"'
        )
    assert [api.streaming for api, _ in (as_draft, as_closed)] == [True, False]
    assert (
        downloaded(as_closed[0]) == downloaded(as_closed[1]) == bytes(getattr(BillingRun.objects.get(), f"{fmt}_bytes"))
    )
    if fmt != "xlsx":  # a streamed workbook is written in write-only mode: same cells, other bytes
        assert downloaded(as_draft[0]) == downloaded(as_draft[1]) == downloaded(as_closed[0])
