"""The shared table component (dropcopy_admin.tables): filters, sorting, errors, links, exports."""

import datetime as dt

import pytest
from django.http import QueryDict

from dropcopy_admin.models import Entity
from dropcopy_admin.tables import CHOICE, DATE, TEXT, Column, Table, utc_text
from tests import factories

from .helpers import csv_rows, xlsx_rows

COLUMNS = [
    Column("code", "Code", lambda e: e.code, filter=TEXT),
    Column("name", "Name", lambda e: e.name, filter=TEXT),
    Column(
        "self_service",
        "Self-service",
        lambda e: "yes" if e.self_service else "no",
        filter=CHOICE,
        choices=[("True", "yes"), ("False", "no")],
    ),
    Column("created", "Created", lambda e: dt.datetime(2026, 12, 1, 9, 5, tzinfo=dt.UTC), field="pk", sortable=False),
]


@pytest.fixture
def entities(db):
    return [
        factories.EntityFactory(code="ALPHA", name="=SUM(A1:A2)", self_service=True),
        factories.EntityFactory(code="BETA", name="Beta Trading", self_service=False),
        factories.EntityFactory(code="GAMMA", name="Gamma Alpha", self_service=True),
    ]


def table(query: str, **kwargs) -> Table:
    return Table(
        QueryDict(query),
        Entity.objects.filter(code__in=["ALPHA", "BETA", "GAMMA"]),
        COLUMNS,
        id="t",
        caption="Entities",
        path="/x/",
        default_sort=("code",),
        **kwargs,
    )


def codes(t: Table) -> list[str]:
    return [row[0] for row in t.page_rows()]


def test_text_filters_contain_case_insensitively_and_combine(entities):
    assert codes(table("name=alpha")) == ["GAMMA"]
    assert codes(table("code=a")) == ["ALPHA", "BETA", "GAMMA"]
    assert codes(table("code=a&self_service=False")) == ["BETA"]


def test_sorting_both_ways_and_aria_sort(entities):
    assert codes(table("sort=-code")) == ["GAMMA", "BETA", "ALPHA"]
    headers = {h.column.key: h for h in table("sort=-code&name=a").headers()}
    assert headers["code"].aria_sort == "descending"
    assert "sort=code" in headers["code"].sort_url and "name=a" in headers["code"].sort_url
    assert headers["name"].aria_sort is None
    assert headers["created"].sort_url is None


def test_bad_values_are_field_errors_and_left_out(entities):
    t = table("self_service=maybe&sort=created&code=ALP")
    assert set(t.form.errors) == {"self_service", "sort"}
    assert codes(t) == ["ALPHA"]
    assert not t.is_valid
    assert t.export_response("csv", "x").status_code == 400


def test_a_date_range_column_has_two_fields():
    date_columns = [Column("at", "At", lambda r: None, filter=DATE)]
    t = Table(
        QueryDict("at_from=2026-12-05&at_to=2026-12-01"), Entity.objects.none(), date_columns, id="d", caption="D"
    )
    assert "at_to" in t.form.errors
    assert [field.name for field in t.headers()[0].fields] == ["at_from", "at_to"]


def test_pagination_links_keep_the_filters(entities):
    t = table("code=a", per_page=2)
    assert codes(t) == ["ALPHA", "BETA"]
    assert t.next_url() == "/x/?code=a&page=2"
    assert codes(table("code=a&page=2", per_page=2)) == ["GAMMA"]


def test_exports_are_safe_and_hold_every_filtered_row(entities):
    rows = csv_rows(table("code=a", per_page=1).export_response("csv", "entities"))
    assert rows[0] == ["Code", "Name", "Self-service", "Created"]
    assert rows[1] == ["ALPHA", "'=SUM(A1:A2)", "yes", "2026-12-01 09:05 UTC"]
    assert len(rows) == 4
    sheet = xlsx_rows(table("self_service=True").export_response("xlsx", "entities"))
    assert [row[1] for row in sheet] == ["Name", "=SUM(A1:A2)", "Gamma Alpha"]  # a string cell, not a formula
    assert table("").export_response("pdf", "x").status_code == 400


def test_utc_text():
    assert utc_text(dt.datetime(2026, 12, 4, 20, 50, tzinfo=dt.UTC)) == "2026-12-04 20:50 UTC"
    assert utc_text(None) == ""


def test_the_module_stands_alone():
    """Any page may use it: it imports nothing of entitlements, billing or the portal pages."""
    import ast
    from pathlib import Path

    import dropcopy_admin.tables

    tree = ast.parse(Path(dropcopy_admin.tables.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | {
        alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    assert not [name for name in imported if name.split(".")[0] in ("entitlements", "billing")]
    assert not [name for name in imported if name.startswith("dropcopy_admin.portal")]
