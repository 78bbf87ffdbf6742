"""Statements: a client's lines of closed billing runs by month, totals, the month filter, the
month downloads (this entity's lines only), the empty state, and a constant number of queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.choices import LineReason, RunStatus
from billing.models import BillingLine, BillingRun
from dropcopy_admin import clock
from dropcopy_admin.choices import Role
from tests import factories

from .helpers import NOW, csv_rows, xlsx_rows

URL = reverse("portal:statements")


@pytest.fixture(autouse=True)
def _frozen_clock():
    clock.freeze(NOW)


@pytest.fixture
def logged_in(client, client_user):
    client.force_login(client_user)
    return client


def run(month: dt.date, status=RunStatus.CLOSED) -> BillingRun:
    return BillingRun.objects.create(month=month, status=status, closed_at=NOW if status == RunStatus.CLOSED else None)


def line(run, entity, amount, *, name=None, note="") -> BillingLine:
    group = factories.GroupFactory(entity=entity, **({"name": name} if name else {}))
    return BillingLine.objects.create(
        run=run,
        entity=entity,
        bill_to=entity,
        group=group,
        amount=Decimal(amount),
        reason=LineReason.ADDITIONAL,
        note=note,
        billable_from=dt.datetime(run.month.year, run.month.month, 1, 6, tzinfo=dt.UTC),
    )


@pytest.fixture
def months(client_entity):
    other = factories.EntityFactory(code="OTHER", name="Other Trading")
    october, november = run(dt.date(2026, 10, 1)), run(dt.date(2026, 11, 1))
    draft = run(dt.date(2026, 12, 1), status=RunStatus.DRAFT)
    line(october, client_entity, "500.00", name="Alpha CME Production")
    line(november, client_entity, "500.00", name="Alpha CME Production 2")
    line(november, client_entity, "250.00", name="=cmd|' /C calc'!A0", note="-2+3")
    line(november, other, "999.00", name="Other Secret Group")
    line(draft, client_entity, "777.00", name="Draft Group")
    return october, november


@pytest.mark.parametrize("role", [Role.CLEARING_FIRM, Role.FINANCE])
def test_only_client_administrators_open_it(client, db, role):
    client.force_login(factories.UserFactory(role=role))
    assert client.get(URL).status_code == 403


def test_the_empty_state(logged_in):
    response = logged_in.get(URL)
    assert response.status_code == 200
    assert "No closed billing month has a charge for your entity yet." in response.content.decode()


def test_months_with_totals_and_no_other_entity_or_draft(logged_in, months):
    body = logged_in.get(URL).content.decode()
    assert body.index("November 2026") < body.index("October 2026")
    assert "750.00 USD" in body  # November
    assert "1250.00 USD" in body  # overall
    assert "Alpha CME Production 2" in body
    for hidden in ("Other Secret Group", "999.00", "Draft Group", "777.00"):
        assert hidden not in body


def test_the_month_filter(logged_in, months):
    response = logged_in.get(URL, {"month": "2026-10"})
    body = response.content.decode()
    assert [m.key for m in response.context["page"]] == ["2026-10"]
    assert "Alpha CME Production 2" not in body
    bad = logged_in.get(URL, {"month": "2026-12"})  # a draft month is not a statement
    assert bad.status_code == 200
    assert "no closed statement has that month" in bad.content.decode()
    assert logged_in.get(URL, {"month": "nonsense", "export": "csv"}).status_code == 400
    assert logged_in.get(URL, {"month": "2026-12", "export": "csv"}).status_code == 400
    assert logged_in.get(URL, {"export": "csv"}).status_code == 400
    assert logged_in.get(URL, {"month": "2026-11", "export": "pdf"}).status_code == 400


def test_a_month_downloads_this_entitys_lines_only(logged_in, months):
    rows = csv_rows(logged_in.get(URL, {"month": "2026-11", "export": "csv"}))
    assert rows[0][:4] == ["Month", "Entity", "Billed to", "Group"]
    assert [(row[1], row[3], row[-2]) for row in rows[1:]] == [
        ("ACME", "Alpha CME Production 2", "500.00"),
        ("ACME", "'=cmd|' /C calc'!A0", "250.00"),
    ]
    assert rows[2][9] == "'-2+3"
    sheet = xlsx_rows(logged_in.get(URL, {"month": "2026-11", "export": "xlsx"}))
    assert [float(row[-2]) for row in sheet[1:]] == [500.0, 250.0]
    assert all(row[1] == "ACME" for row in sheet[1:])


def test_a_constant_number_of_queries(logged_in, client_entity):
    line(run(dt.date(2026, 1, 1)), client_entity, "500.00")
    with CaptureQueriesContext(connection) as one:
        logged_in.get(URL)
    for month in range(2, 11):
        closed = run(dt.date(2026, month, 1))
        for _ in range(3):
            line(closed, client_entity, "500.00")
    with CaptureQueriesContext(connection) as many:
        response = logged_in.get(URL)
    assert len(response.context["page"]) == 10
    assert len(many) == len(one)
