"""Billing runs over HTTP (R12): who may do what, computing, closing and exporting."""

import datetime as dt
import hashlib
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import BillingRun, Tariff
from dropcopy_admin import clock
from dropcopy_admin.choices import Environment
from tests import factories
from tests.support import downloaded

pytestmark = pytest.mark.django_db

RUNS = "/api/v1/billing/runs/"


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _tariff_and_clock():
    Tariff.objects.update_or_create(
        effective_month=dt.date(2025, 1, 1), defaults={"free_groups": 1, "monthly_fee": Decimal("500.00")}
    )
    clock.freeze(utc(2025, 6, 15, 12))


def group(entity, *, opened_at=None):
    return factories.GroupFactory(
        entity=entity, environment=Environment.PRODUCTION, opened_at=opened_at or utc(2025, 4, 1, 12)
    )


def close_may(api):
    assert api.post(RUNS, {"month": "2025-05"}, format="json").status_code == 201
    response = api.post(f"{RUNS}2025-05/close/", {}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_create_is_201_then_recompute_of_the_draft_is_200(am_api):
    entity = factories.EntityFactory()
    group(entity)
    group(entity)
    first = am_api.post(RUNS, {"month": "2025-05"}, format="json")
    assert first.status_code == 201, first.content
    body = first.json()
    assert body == {
        "month": "2025-05",
        "status": "draft",
        "total": "500.00",
        "currency": "USD",
        "line_count": 2,
        "sha256": None,
    }
    again = am_api.post(RUNS, {"month": "2025-05"}, format="json")
    assert again.status_code == 200
    assert again.json()["line_count"] == 2


def test_finance_computes_and_reads(finance_api):
    assert finance_api.post(RUNS, {"month": "2025-06"}, format="json").status_code == 201
    assert finance_api.get(RUNS).status_code == 200
    assert finance_api.get(f"{RUNS}2025-06/").json()["month"] == "2025-06"
    assert finance_api.get(f"{RUNS}2025-06/lines/").status_code == 200


def test_future_month_is_400_invalid(am_api):
    response = am_api.post(RUNS, {"month": "2025-07"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_a_month_before_the_first_tariff_is_400_invalid_and_writes_nothing(am_api):
    response = am_api.post(RUNS, {"month": "1999-12"}, format="json")
    assert response.status_code == 400
    assert "No tariff" in response.json()["errors"]["month"][0]
    assert not BillingRun.objects.filter(month=dt.date(1999, 12, 1)).exists()


@pytest.mark.parametrize("month", ["2025-5", "2025-13", "May 2025", "2025-05-01", "", 202505])
def test_malformed_month_is_400_invalid(am_api, month):
    response = am_api.post(RUNS, {"month": month}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "month" in response.json()["errors"]


@pytest.mark.parametrize("path", ["2025-5/", "2025-13/", "may/", "2025-05-01/lines/", "20255/export.csv"])
def test_malformed_month_in_the_path_is_404(am_api, path):
    response = am_api.get(f"{RUNS}{path}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_missing_run_is_404(am_api):
    for suffix in ("", "lines/", "export.csv", "export.json", "export.xlsx"):
        response = am_api.get(f"{RUNS}2025-04/{suffix}")
        assert response.status_code == 404, suffix
    assert am_api.post(f"{RUNS}2025-04/close/", {}, format="json").status_code == 404


def test_closing_a_month_that_has_not_ended_is_409(am_api):
    am_api.post(RUNS, {"month": "2025-06"}, format="json")
    response = am_api.post(f"{RUNS}2025-06/close/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_closed_exports_are_the_stored_bytes_matching_the_checksums(am_api, finance_api):
    entity = factories.EntityFactory()
    group(entity)
    group(entity)
    run = close_may(am_api)
    assert run["status"] == "closed"
    assert set(run["sha256"]) == {"csv", "json", "xlsx"}
    types = {
        "csv": "text/csv",
        "json": "application/json",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
    for fmt, content_type in types.items():
        first = am_api.get(f"{RUNS}2025-05/export.{fmt}")
        second = finance_api.get(f"{RUNS}2025-05/export.{fmt}")
        assert first.status_code == second.status_code == 200
        assert first["Content-Type"].startswith(content_type)
        assert first["Content-Disposition"] == f'attachment; filename="billing-2025-05.{fmt}"'
        assert first.content == second.content
        assert hashlib.sha256(first.content).hexdigest() == run["sha256"][fmt]
    assert am_api.get(f"{RUNS}2025-05/").json()["sha256"] == run["sha256"]


def test_draft_exports_render_on_the_fly(am_api):
    group(factories.EntityFactory())
    am_api.post(RUNS, {"month": "2025-05"}, format="json")
    response = am_api.get(f"{RUNS}2025-05/export.csv")
    assert response.status_code == 200
    assert downloaded(response).startswith(b"month,bill_to_code")
    assert json.loads(downloaded(am_api.get(f"{RUNS}2025-05/export.json")))["month"] == "2025-05"
    assert downloaded(am_api.get(f"{RUNS}2025-05/export.xlsx"))[:2] == b"PK"


def test_lines_filter_by_entity_and_bill_to(am_api):
    payer = factories.EntityFactory()
    billed_elsewhere = factories.EntityFactory(bill_to=payer)
    other = factories.EntityFactory()
    group(billed_elsewhere)
    group(other)
    am_api.post(RUNS, {"month": "2025-05"}, format="json")
    by_bill_to = am_api.get(f"{RUNS}2025-05/lines/", {"bill_to": payer.pk}).json()["results"]
    assert [line["entity"] for line in by_bill_to] == [billed_elsewhere.pk]
    by_entity = am_api.get(f"{RUNS}2025-05/lines/", {"entity": other.pk}).json()["results"]
    assert [line["bill_to"] for line in by_entity] == [other.pk]
    line = by_entity[0]
    assert set(line) == {"id", "entity", "bill_to", "group", "amount", "reason", "corrects_month", "note"}
    assert line["amount"] == "0.00" and line["reason"] == "free" and line["corrects_month"] is None


def test_client_sees_only_its_lines_of_closed_runs(am_api, client_api, client_entity):
    billed_to_client = factories.EntityFactory(bill_to=client_entity)
    own = group(client_entity)
    paid = group(billed_to_client)
    group(factories.EntityFactory())
    am_api.post(RUNS, {"month": "2025-05"}, format="json")
    draft = client_api.get(f"{RUNS}2025-05/lines/")
    assert draft.status_code == 404
    am_api.post(f"{RUNS}2025-05/close/", {}, format="json")
    response = client_api.get(f"{RUNS}2025-05/lines/")
    assert response.status_code == 200
    assert sorted(line["group"] for line in response.json()["results"]) == sorted([own.pk, paid.pk])


def test_client_has_no_access_to_runs_or_exports(am_api, client_api):
    close_may(am_api)
    assert client_api.get(RUNS).status_code == 403
    assert client_api.post(RUNS, {"month": "2025-05"}, format="json").status_code == 403
    assert client_api.get(f"{RUNS}2025-05/").status_code == 404
    assert client_api.get(f"{RUNS}2025-05/export.csv").status_code == 404
    assert client_api.post(f"{RUNS}2025-05/close/", {}, format="json").status_code == 404


def test_clearing_firm_is_refused(am_api, clearing_api):
    close_may(am_api)
    for response in (
        clearing_api.get(RUNS),
        clearing_api.post(RUNS, {"month": "2025-05"}, format="json"),
        clearing_api.get(f"{RUNS}2025-05/lines/"),
    ):
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
    assert clearing_api.get(f"{RUNS}2025-05/").status_code == 404
    assert clearing_api.get(f"{RUNS}2025-05/export.json").status_code == 404


def _lines_queries(api) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert api.get(f"{RUNS}2025-05/lines/").status_code == 200
    return len(queries)


def test_lines_take_constant_queries(am_api):
    group(factories.EntityFactory())
    am_api.post(RUNS, {"month": "2025-05"}, format="json")
    one = _lines_queries(am_api)
    for _ in range(5):
        group(factories.EntityFactory())
    am_api.post(RUNS, {"month": "2025-05"}, format="json")
    assert _lines_queries(am_api) == one
