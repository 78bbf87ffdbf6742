"""The monthly run task, its beat entry, the billing_export command and the billing admin (R12)."""

import csv
import datetime as dt
import io
import json

import openpyxl
import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from billing.choices import RunStatus
from billing.exports import CSV_HEADER
from billing.models import BillingLine, BillingRun, Tariff
from billing.services import billing_run_close, billing_run_compute
from billing.tasks import create_previous_month_run
from dropcopy_admin import clock
from dropcopy_admin.choices import Environment, GroupStatus
from dropcopy_admin.services.audit import SystemActor
from tests import factories
from tests.support import downloaded

pytestmark = pytest.mark.django_db

ACTOR = SystemActor("billing-test")
FEBRUARY = dt.date(2026, 2, 1)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture
def two_groups():
    entity = factories.EntityFactory()
    for day in (2, 3):
        factories.GroupFactory(
            entity=entity,
            opened_at=utc(2026, 1, day, 12),
            status=GroupStatus.ACTIVE,
            environment=Environment.PRODUCTION,
        )
    return entity


def test_task_computes_the_previous_chicago_month_once(two_groups):
    clock.freeze(utc(2026, 3, 1, 7))  # 01:00 CST on 1 March
    create_previous_month_run()
    create_previous_month_run()
    run = BillingRun.objects.get()
    assert run.month == FEBRUARY
    assert run.status == RunStatus.DRAFT
    assert run.line_count == 2
    assert BillingLine.objects.count() == 2


def test_task_in_january_computes_december():
    clock.freeze(utc(2026, 1, 1, 7))
    create_previous_month_run()
    assert BillingRun.objects.get().month == dt.date(2025, 12, 1)


def test_task_leaves_a_closed_run_untouched(two_groups):
    clock.freeze(utc(2026, 3, 1, 7))
    billing_run_close(actor=ACTOR, month=billing_run_compute(actor=ACTOR, month=FEBRUARY).month)
    closed = BillingRun.objects.get()
    factories.GroupFactory(opened_at=utc(2026, 2, 10), environment=Environment.PRODUCTION)
    assert "skipped" in create_previous_month_run()
    again = BillingRun.objects.get()
    assert (again.status, again.line_count, again.computed_at, bytes(again.csv_bytes)) == (
        RunStatus.CLOSED,
        closed.line_count,
        closed.computed_at,
        bytes(closed.csv_bytes),
    )


def test_beat_runs_the_task_on_the_first_after_chicago_midnight():
    entry = settings.CELERY_BEAT_SCHEDULE["create-previous-month-run"]
    assert entry["task"] == "billing.tasks.create_previous_month_run"
    assert entry["schedule"] == crontab(minute=15, hour=6, day_of_month=1)


@pytest.fixture
def february_run(two_groups):
    clock.freeze(utc(2026, 3, 1, 7))
    return billing_run_compute(actor=ACTOR, month=FEBRUARY)


@pytest.mark.parametrize("closed", [False, True])
def test_billing_export_writes_csv_with_the_r12_header(february_run, closed, tmp_path, capsys):
    if closed:
        billing_run_close(actor=ACTOR, month=FEBRUARY)
    path = tmp_path / "feb.csv"
    call_command("billing_export", "--month", "2026-02", "--format", "csv", "--output", str(path))
    data = path.read_bytes()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert rows[0] == CSV_HEADER
    assert len(rows) == 3
    if closed:
        assert data == bytes(BillingRun.objects.get().csv_bytes)
    assert "lines" in capsys.readouterr().err  # the progress bar


def test_billing_export_writes_json_and_xlsx_that_parse(february_run, tmp_path):
    json_path, xlsx_path = tmp_path / "feb.json", tmp_path / "feb.xlsx"
    call_command("billing_export", "--month", "2026-02", "--format", "json", "--output", str(json_path))
    call_command("billing_export", "--month", "2026-02", "--format", "xlsx", "--output", str(xlsx_path))
    document = json.loads(json_path.read_bytes())
    assert document["month"] == "2026-02"
    assert len(document["lines"]) == 2
    sheet = openpyxl.load_workbook(xlsx_path)["lines"]
    assert [cell.value for cell in sheet[1]] == CSV_HEADER
    assert sheet.max_row == 3


@pytest.mark.parametrize("month", ["2026-13", "Feb 2026", "2026-2-1", ""])
def test_billing_export_refuses_a_bad_month(month, tmp_path):
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("billing_export", "--month", month, "--format", "csv", "--output", str(tmp_path / "x"))


def test_billing_export_refuses_a_missing_run(tmp_path):
    with pytest.raises(CommandError, match="no billing run"):
        call_command("billing_export", "--month", "2024-05", "--format", "csv", "--output", str(tmp_path / "x"))


@pytest.fixture
def am_client(client):
    client.force_login(factories.UserFactory(role="account_manager"))
    return client


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_admin_pages_render_without_the_export_bytes(am_client, february_run):
    billing_run_close(actor=ACTOR, month=FEBRUARY)
    for model in (BillingRun, BillingLine, Tariff):
        response = am_client.get(_url(model, "changelist"))
        assert response.status_code == 200, model
    response = am_client.get(_url(BillingRun, "change", february_run.pk))
    assert response.status_code == 200
    assert b"csv_bytes" not in response.content
    assert am_client.get(_url(Tariff, "add")).status_code == 200


def test_admin_close_action_closes_an_ended_month_and_reports_an_open_one(am_client, february_run):
    march = billing_run_compute(actor=ACTOR, month=dt.date(2026, 3, 1))
    response = am_client.post(
        _url(BillingRun, "changelist"),
        {"action": "close_runs", "_selected_action": [february_run.pk, march.pk], "confirm": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    february_run.refresh_from_db()
    march.refresh_from_db()
    assert february_run.status == RunStatus.CLOSED
    assert march.status == RunStatus.DRAFT
    texts = [str(message) for message in response.context["messages"]]
    assert any("March 2026" in text for text in texts)


def test_admin_download_csv_of_one_run(am_client, february_run):
    response = am_client.post(
        _url(BillingRun, "changelist"), {"action": "download_csv", "_selected_action": [february_run.pk]}
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="billing-2026-02.csv"'
    assert next(csv.reader(io.StringIO(downloaded(response).decode()))) == CSV_HEADER


@pytest.mark.parametrize("closed", [False, True], ids=["draft", "closed"])
def test_admin_downloads_json_and_xlsx_of_one_run(am_client, february_run, closed):
    if closed:
        february_run = billing_run_close(actor=ACTOR, month=FEBRUARY)
    changelist = _url(BillingRun, "changelist")
    as_json = am_client.post(changelist, {"action": "download_json", "_selected_action": [february_run.pk]})
    as_xlsx = am_client.post(changelist, {"action": "download_xlsx", "_selected_action": [february_run.pk]})

    assert json.loads(downloaded(as_json))["month"] == "2026-02"
    workbook = openpyxl.load_workbook(io.BytesIO(downloaded(as_xlsx)))
    assert workbook.sheetnames == ["lines", "totals"]
    if closed:
        assert downloaded(as_json) == bytes(february_run.json_bytes)


def test_admin_tariff_save_is_audited(am_client):
    from dropcopy_admin.models import AuditEvent

    response = am_client.post(
        _url(Tariff, "add"),
        {"effective_month": "2026-04-01", "free_groups": "1", "monthly_fee": "650.00", "currency": "USD"},
    )
    assert response.status_code == 302, response.content[:2000]
    tariff = Tariff.objects.get(effective_month=dt.date(2026, 4, 1))
    assert AuditEvent.objects.filter(action="tariff.create", object_id=str(tariff.pk)).exists()
