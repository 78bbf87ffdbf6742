"""``copy_rows``: bulk rows through PostgreSQL's COPY, in the caller's transaction."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from dropcopy_admin.copying import copy_rows, copy_statement, execute_with_arrays
from dropcopy_admin.models import ClearingFirm, Entity

pytestmark = pytest.mark.django_db


def test_rows_are_written_in_one_copy_and_counted():
    with CaptureQueriesContext(connection) as queries:
        written = copy_rows(ClearingFirm, ("code", "name"), [("QA1", "Copy One"), ("QA2", "Copy Two")])

    assert written == 2
    assert sorted(ClearingFirm.objects.filter(code__startswith="QA").values_list("code", "name")) == [
        ("QA1", "Copy One"),
        ("QA2", "Copy Two"),
    ]
    assert [query["sql"] for query in queries] == ['COPY "dropcopy_admin_clearingfirm" ("code", "name") FROM STDIN']


def test_foreign_keys_are_named_by_field_and_written_to_their_column():
    bill_to = Entity.objects.create(code="QBILL", name="Pays")
    assert copy_statement(Entity, ("code", "name", "bill_to")).endswith('("code", "name", "bill_to_id") FROM STDIN')

    copy_rows(Entity, ("code", "name", "self_service", "bill_to"), [("QCOPY", "Copied", False, bill_to.pk)])

    assert Entity.objects.get(code="QCOPY").bill_to == bill_to


def test_a_refused_row_raises_djangos_error_and_writes_nothing():
    ClearingFirm.objects.create(code="QC1", name="Taken")

    with pytest.raises(IntegrityError), transaction.atomic():
        copy_rows(ClearingFirm, ("code", "name"), [("QC2", "New"), ("QC1", "Duplicate")])

    assert list(ClearingFirm.objects.filter(code__startswith="QC").values_list("code", flat=True)) == ["QC1"]


def test_binary_rows_are_sent_as_their_columns_types():
    bill_to = Entity.objects.create(code="QBIN0", name="Pays")

    with CaptureQueriesContext(connection) as queries:
        copy_rows(
            Entity, ("code", "name", "self_service", "bill_to"), [("QBIN1", "Binary", True, bill_to.pk)], binary=True
        )

    assert queries[0]["sql"].endswith('("code", "name", "self_service", "bill_to_id") FROM STDIN (FORMAT BINARY)')
    assert Entity.objects.filter(code="QBIN1").values_list("name", "self_service", "bill_to").get() == (
        "Binary",
        True,
        bill_to.pk,
    )


def test_arrays_are_bound_by_the_server_and_errors_come_as_djangos():
    firms = [ClearingFirm.objects.create(code=f"QA{n}", name=f"Array {n}") for n in (1, 2)]
    rename = (
        f"UPDATE {ClearingFirm._meta.db_table} AS firm SET name = renamed.name"
        " FROM unnest(%s::bigint[], %s::text[]) AS renamed(id, name) WHERE firm.id = renamed.id"
    )

    execute_with_arrays(rename, [[firm.pk for firm in firms], ["First", "Second"]])

    assert sorted(ClearingFirm.objects.filter(code__startswith="QA").values_list("code", "name")) == [
        ("QA1", "First"),
        ("QA2", "Second"),
    ]
    with pytest.raises(IntegrityError), transaction.atomic():
        execute_with_arrays(rename, [[firms[0].pk], [None]])  # the name may not be empty
