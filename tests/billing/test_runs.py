"""Billing runs (R12): what is billable in a Chicago month, who pays, recomputing and closing."""

import csv
import datetime as dt
import hashlib
import io
import json
import threading
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.db import connection

from billing.exports import CSV_HEADER
from billing.models import BillingLine, BillingRun, Tariff
from billing.services import billing_run_close, billing_run_compute, month_bounds
from dropcopy_admin import clock
from dropcopy_admin.choices import Environment, GroupStatus
from dropcopy_admin.errors import Conflict, DomainError, InvalidInput, NotFound
from dropcopy_admin.models import AuditEvent, DropCopyGroup
from dropcopy_admin.services.audit import SystemActor
from tests import factories

pytestmark = pytest.mark.django_db

CHICAGO = ZoneInfo("America/Chicago")
ACTOR = SystemActor("billing-test")


def chicago(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CHICAGO)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def group(entity=None, *, opened_at, closed_at=None, environment=Environment.PRODUCTION):
    return factories.GroupFactory(
        entity=entity or factories.EntityFactory(),
        opened_at=opened_at,
        closed_at=closed_at,
        status=GroupStatus.CLOSED if closed_at else GroupStatus.ACTIVE,
        environment=environment,
    )


@pytest.fixture(autouse=True)
def _now_is_mid_2025():
    clock.freeze(utc(2025, 6, 15, 12))


def lines_of(run) -> dict:
    return {line.group_id: line for line in BillingLine.objects.filter(run=run)}


def test_month_bounds_are_chicago_midnights_in_utc_across_both_dst_changes():
    assert month_bounds(dt.date(2025, 1, 1)) == (utc(2025, 1, 1, 6), utc(2025, 2, 1, 6))
    # DST starts on 9 March 2025: March begins at CST (-6) and April at CDT (-5).
    assert month_bounds(dt.date(2025, 3, 1)) == (utc(2025, 3, 1, 6), utc(2025, 4, 1, 5))
    assert month_bounds(dt.date(2025, 7, 1)) == (utc(2025, 7, 1, 5), utc(2025, 8, 1, 5))
    # DST ends on 2 November 2025: November begins at CDT and December at CST.
    assert month_bounds(dt.date(2025, 11, 1)) == (utc(2025, 11, 1, 5), utc(2025, 12, 1, 6))
    assert month_bounds(dt.date(2025, 12, 1)) == (utc(2025, 12, 1, 6), utc(2026, 1, 1, 6))


def test_group_open_from_last_minute_of_a_month_to_first_minute_of_next_is_billed_in_both():
    entity = factories.EntityFactory()
    group(entity, opened_at=chicago(2025, 1, 1))  # the entity's free group
    straddling = group(entity, opened_at=chicago(2025, 2, 28, 23, 59), closed_at=chicago(2025, 3, 1, 0, 1))

    february = lines_of(billing_run_compute(actor=ACTOR, month=dt.date(2025, 2, 1)))
    march = lines_of(billing_run_compute(actor=ACTOR, month=dt.date(2025, 3, 1)))

    assert february[straddling.id].amount == Decimal("500.00")
    assert february[straddling.id].billable_from == chicago(2025, 2, 28, 23, 59)
    assert february[straddling.id].billable_to == chicago(2025, 3, 1)
    assert march[straddling.id].amount == Decimal("500.00")
    assert march[straddling.id].billable_to == chicago(2025, 3, 1, 0, 1)


def test_group_closed_at_0300_utc_on_the_1st_is_not_billed_for_the_new_month():
    entity = factories.EntityFactory()
    group(entity, opened_at=chicago(2025, 1, 1))
    # 03:00 UTC on 1 April is 22:00 on 31 March in Chicago: the group never saw April.
    closed_early = group(entity, opened_at=chicago(2025, 3, 10), closed_at=utc(2025, 4, 1, 3))

    march = lines_of(billing_run_compute(actor=ACTOR, month=dt.date(2025, 3, 1)))
    april = lines_of(billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1)))

    assert closed_early.id in march
    assert closed_early.id not in april


def test_group_closed_exactly_at_month_start_is_not_billed_for_that_month():
    closed_at_start = group(opened_at=chicago(2025, 3, 10), closed_at=chicago(2025, 4, 1))

    april = lines_of(billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1)))

    assert closed_at_start.id not in april


def test_group_opened_at_next_month_start_is_not_billed():
    opened_next = group(opened_at=chicago(2025, 5, 1))

    april = lines_of(billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1)))

    assert opened_next.id not in april


def test_earliest_opened_group_is_free_even_when_it_closes_mid_month():
    entity = factories.EntityFactory()
    newer = group(entity, opened_at=chicago(2025, 2, 1))
    oldest = group(entity, opened_at=chicago(2025, 1, 5), closed_at=chicago(2025, 4, 10))
    newest = group(entity, opened_at=chicago(2025, 4, 20))

    run = billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1))
    lines = lines_of(run)

    assert (lines[oldest.id].reason, lines[oldest.id].amount) == ("free", Decimal("0.00"))
    assert (lines[newer.id].reason, lines[newer.id].amount) == ("additional", Decimal("500.00"))
    assert (lines[newest.id].reason, lines[newest.id].amount) == ("additional", Decimal("500.00"))
    assert run.total == Decimal("1000.00")
    assert run.line_count == 3


def test_tie_on_opened_at_makes_the_lower_id_free():
    entity = factories.EntityFactory()
    same_time = chicago(2025, 3, 3, 9)
    first = group(entity, opened_at=same_time)
    second = group(entity, opened_at=same_time)

    lines = lines_of(billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1)))

    assert lines[first.id].reason == "free"
    assert lines[second.id].reason == "additional"


def test_each_entity_gets_its_own_free_group_and_lines_go_to_a_shared_bill_to_party():
    payer = factories.EntityFactory()
    first = factories.EntityFactory(bill_to=payer)
    second = factories.EntityFactory(bill_to=payer)
    first_free = group(first, opened_at=chicago(2025, 1, 1))
    first_paid = group(first, opened_at=chicago(2025, 1, 2))
    second_free = group(second, opened_at=chicago(2025, 1, 3))

    run = billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1))
    lines = lines_of(run)

    assert {line.bill_to_id for line in lines.values()} == {payer.id}
    assert {line.entity_id for line in lines.values()} == {first.id, second.id}
    assert lines[first_free.id].reason == lines[second_free.id].reason == "free"
    assert lines[first_paid.id].amount == Decimal("500.00")
    assert run.total == Decimal("500.00")


def test_tariff_change_applies_from_its_month_on_only():
    Tariff.objects.create(effective_month=dt.date(2025, 4, 1), free_groups=2, monthly_fee=Decimal("650.00"))
    entity = factories.EntityFactory()
    for day in (1, 2, 3):
        group(entity, opened_at=chicago(2025, 1, day))

    march = billing_run_compute(actor=ACTOR, month=dt.date(2025, 3, 1))
    april = billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1))

    assert sorted(line.amount for line in march.lines.all()) == [Decimal("0.00"), Decimal("500.00"), Decimal("500.00")]
    assert sorted(line.amount for line in april.lines.all()) == [Decimal("0.00"), Decimal("0.00"), Decimal("650.00")]
    assert (march.total, april.total) == (Decimal("1000.00"), Decimal("650.00"))


def test_new_release_and_cert_groups_give_no_lines():
    entity = factories.EntityFactory()
    group(entity, opened_at=chicago(2025, 1, 1), environment=Environment.NEW_RELEASE)
    group(entity, opened_at=chicago(2025, 1, 2), environment=Environment.CERT)

    run = billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1))

    assert run.line_count == 0
    assert run.total == Decimal("0.00")


def test_future_month_is_refused():
    with pytest.raises(InvalidInput):
        billing_run_compute(actor=ACTOR, month=dt.date(2025, 7, 1))


def test_month_not_on_the_first_is_refused():
    with pytest.raises(InvalidInput):
        billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 2))


def test_recomputing_a_draft_replaces_its_lines_and_is_idempotent():
    entity = factories.EntityFactory()
    group(entity, opened_at=chicago(2025, 1, 1))
    first = billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1))
    group(entity, opened_at=chicago(2025, 4, 5))

    second = billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1))
    third = billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1))

    assert first.pk == second.pk == third.pk
    assert (first.created, second.created) == (True, False)
    assert BillingLine.objects.filter(run=third).count() == third.line_count == 2
    assert third.total == Decimal("500.00")
    actions = list(
        AuditEvent.objects.filter(object_type="billingrun", object_id=first.pk)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["billing_run.create", "billing_run.recompute", "billing_run.recompute"]


def test_computing_lists_billable_groups_in_a_constant_number_of_queries(django_assert_max_num_queries):
    for _ in range(5):
        entity = factories.EntityFactory()
        group(entity, opened_at=chicago(2025, 1, 1))
        group(entity, opened_at=chicago(2025, 1, 2))

    with django_assert_max_num_queries(14):
        run = billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1))

    assert run.line_count == 10


def test_recomputing_a_closed_run_is_billing_period_closed():
    billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1))
    billing_run_close(actor=ACTOR, month=dt.date(2025, 4, 1))

    with pytest.raises(Conflict) as refused:
        billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1))

    assert refused.value.code == "billing_period_closed"
    assert refused.value.status == 409


def test_closing_before_the_month_ended_is_invalid_transition():
    billing_run_compute(actor=ACTOR, month=dt.date(2025, 6, 1))

    with pytest.raises(Conflict) as refused:
        billing_run_close(actor=ACTOR, month=dt.date(2025, 6, 1))

    assert refused.value.code == "invalid_transition"
    assert BillingRun.objects.get(month=dt.date(2025, 6, 1)).status == "draft"


def test_closing_is_allowed_from_the_first_instant_of_the_next_chicago_month():
    billing_run_compute(actor=ACTOR, month=dt.date(2025, 6, 1))
    clock.freeze(chicago(2025, 6, 30, 23, 59, 59))
    with pytest.raises(Conflict):
        billing_run_close(actor=ACTOR, month=dt.date(2025, 6, 1))

    clock.freeze(chicago(2025, 7, 1))
    run = billing_run_close(actor=ACTOR, month=dt.date(2025, 6, 1))

    assert run.status == "closed"


def test_closing_a_closed_run_is_invalid_transition():
    billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1))
    billing_run_close(actor=ACTOR, month=dt.date(2025, 4, 1))

    with pytest.raises(Conflict) as refused:
        billing_run_close(actor=ACTOR, month=dt.date(2025, 4, 1))

    assert refused.value.code == "invalid_transition"


def test_closing_renders_and_stores_csv_json_and_xlsx_with_their_sha256():
    payer = factories.EntityFactory(code="PAYER", name="Payer, Inc.")
    entity = factories.EntityFactory(bill_to=payer)
    free = group(entity, opened_at=chicago(2025, 1, 1))
    paid = group(entity, opened_at=chicago(2025, 3, 15, 8, 30), closed_at=chicago(2025, 4, 20, 10))
    group(payer, opened_at=chicago(2025, 2, 1))
    group(payer, opened_at=chicago(2025, 2, 2))
    computed = billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1))

    billing_run_close(actor=ACTOR, month=dt.date(2025, 4, 1))
    run = BillingRun.objects.get(pk=computed.pk)

    assert run.status == "closed" and run.closed_at is not None
    csv_bytes, json_bytes, xlsx_bytes = bytes(run.csv_bytes), bytes(run.json_bytes), bytes(run.xlsx_bytes)
    assert run.csv_sha256 == hashlib.sha256(csv_bytes).hexdigest()
    assert run.json_sha256 == hashlib.sha256(json_bytes).hexdigest()
    assert run.xlsx_sha256 == hashlib.sha256(xlsx_bytes).hexdigest()

    reader = csv.reader(io.StringIO(csv_bytes.decode("utf-8")))
    assert next(reader) == CSV_HEADER
    rows = [dict(zip(CSV_HEADER, row, strict=True)) for row in reader]
    assert len(rows) == run.line_count == 4
    assert sum(Decimal(row["amount"]) for row in rows) == run.total == Decimal("1000.00")
    assert {row["bill_to_code"] for row in rows} == {"PAYER"}
    by_group = {row["group_id"]: row for row in rows}
    assert by_group[str(free.id)]["reason"] == "free"
    assert by_group[str(paid.id)]["billable_from"] == "2025-04-01T00:00:00-05:00"
    assert by_group[str(paid.id)]["billable_to"] == "2025-04-20T10:00:00-05:00"
    assert by_group[str(paid.id)]["venue"] == "CME"
    assert all(row["month"] == "2025-04" for row in rows)

    document = json.loads(json_bytes)
    assert (document["month"], document["currency"]) == ("2025-04", "USD")
    assert len(document["lines"]) == 4
    assert document["totals"] == [{"bill_to_code": "PAYER", "bill_to_name": "Payer, Inc.", "total": "1000.00"}]

    workbook = openpyxl.load_workbook(io.BytesIO(xlsx_bytes))
    assert workbook.sheetnames == ["lines", "totals"]
    sheet_rows = list(workbook["lines"].iter_rows(values_only=True))
    assert list(sheet_rows[0]) == CSV_HEADER
    assert len(sheet_rows) == 5
    assert list(workbook["totals"].iter_rows(values_only=True))[1][:3] == ("PAYER", "Payer, Inc.", 1000)

    assert AuditEvent.objects.filter(object_type="billingrun", object_id=run.pk, action="billing_run.close").exists()
    close_event = AuditEvent.objects.get(object_id=run.pk, action="billing_run.close")
    assert "csv_bytes" not in close_event.after
    assert close_event.after["status"] == "closed"


def test_closed_run_keeps_its_bytes_when_groups_change_afterwards():
    entity = factories.EntityFactory()
    group(entity, opened_at=chicago(2025, 1, 1))
    billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1))
    closed = billing_run_close(actor=ACTOR, month=dt.date(2025, 4, 1))
    group(entity, opened_at=chicago(2025, 4, 2))

    with pytest.raises(Conflict):
        billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1))

    stored = BillingRun.objects.get(pk=closed.pk)
    assert hashlib.sha256(bytes(stored.csv_bytes)).hexdigest() == closed.csv_sha256
    assert stored.line_count == 1


def test_closing_a_month_without_a_run_is_not_found():
    with pytest.raises(NotFound):
        billing_run_close(actor=ACTOR, month=dt.date(2025, 4, 1))


def test_recomputing_keeps_adjustment_lines_and_counts_them_in_the_total():
    entity = factories.EntityFactory()
    group(entity, opened_at=chicago(2025, 1, 1))
    group(entity, opened_at=chicago(2025, 1, 2))
    run = billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1))
    BillingLine.objects.create(
        run=run,
        entity=entity,
        bill_to=entity,
        amount=Decimal("-500.00"),
        reason="adjustment",
        corrects_month=dt.date(2025, 3, 1),
        note="March credit",
    )

    run = billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1))

    assert run.line_count == 3
    assert run.total == Decimal("0.00")
    assert BillingLine.objects.filter(run=run, reason="adjustment").count() == 1


def race(work, racers: int = 4) -> list:
    """Run ``work()`` in ``racers`` threads on their own connections, released together."""
    barrier = threading.Barrier(racers)
    outcomes: list = [None] * racers

    def run(index: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = work()
        except DomainError as error:
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_computes_of_one_month_serialise_into_one_run_with_one_set_of_lines():
    entity = factories.EntityFactory()
    group(entity, opened_at=chicago(2025, 1, 1))
    group(entity, opened_at=chicago(2025, 1, 2))

    outcomes = race(lambda: billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1)))

    assert all(isinstance(outcome, BillingRun) for outcome in outcomes), outcomes
    assert [outcome.created for outcome in outcomes].count(True) == 1
    run = BillingRun.objects.get(month=dt.date(2025, 4, 1))
    assert BillingLine.objects.filter(run=run).count() == run.line_count == 2
    assert run.total == Decimal("500.00")


def test_adjustment_lines_are_exported_without_group_and_with_the_month_they_correct():
    entity = factories.EntityFactory()
    run = billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1))
    BillingLine.objects.create(
        run=run,
        entity=entity,
        bill_to=entity,
        amount=Decimal("125.50"),
        reason="adjustment",
        corrects_month=dt.date(2025, 2, 1),
        note="February under-billed",
    )
    billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1))

    closed = billing_run_close(actor=ACTOR, month=dt.date(2025, 4, 1))

    rows = list(csv.DictReader(io.StringIO(bytes(closed.csv_bytes).decode("utf-8"))))
    assert len(rows) == 1
    assert (rows[0]["group_id"], rows[0]["group_name"], rows[0]["venue"]) == ("", "", "")
    assert rows[0]["corrects_month"] == "2025-02"
    assert (rows[0]["note"], rows[0]["amount"]) == ("February under-billed", "125.50")
    assert closed.total == Decimal("125.50")


def test_set_based_compute_gives_exactly_the_r12_lines_of_a_mixed_month():
    """The one INSERT … SELECT against R12 spelt out in Python, on a month with two free groups per
    entity, shared and own bill-to parties, ties, clipping at both ends and non-billable groups."""
    Tariff.objects.create(effective_month=dt.date(2025, 4, 1), free_groups=2, monthly_fee=Decimal("650.00"))
    payer = factories.EntityFactory()
    entities = [payer, factories.EntityFactory(bill_to=payer), factories.EntityFactory(), factories.EntityFactory()]
    tie = chicago(2025, 3, 3, 9)
    for index, entity in enumerate(entities):
        group(entity, opened_at=chicago(2025, 1, 1 + index))  # before the month: clipped to its start
        group(entity, opened_at=tie)
        group(entity, opened_at=tie)
        group(entity, opened_at=chicago(2025, 4, 10), closed_at=chicago(2025, 4, 20))
        group(entity, opened_at=chicago(2025, 4, 30, 23, 59))  # runs past the month: clipped to its end
        group(entity, opened_at=chicago(2025, 2, 1), closed_at=chicago(2025, 4, 1))  # closed at the start
        group(entity, opened_at=chicago(2025, 5, 1))  # opened at the end
        group(entity, opened_at=chicago(2025, 1, 1), environment=Environment.CERT)
    start, end = month_bounds(dt.date(2025, 4, 1))
    billable = sorted(
        (
            candidate
            for candidate in DropCopyGroup.objects.select_related("entity")
            if candidate.environment == Environment.PRODUCTION
            and candidate.opened_at < end
            and (candidate.closed_at is None or candidate.closed_at > start)
        ),
        key=lambda candidate: (candidate.entity_id, candidate.opened_at, candidate.id),
    )
    expected, rank = [], {}
    for candidate in billable:
        rank[candidate.entity_id] = rank.get(candidate.entity_id, 0) + 1
        free = rank[candidate.entity_id] <= 2
        expected.append(
            (
                candidate.id,
                candidate.entity_id,
                candidate.entity.bill_to_id or candidate.entity_id,
                Decimal("0.00") if free else Decimal("650.00"),
                "free" if free else "additional",
                max(candidate.opened_at, start),
                min(candidate.closed_at or end, end),
                None,
                "",
            )
        )

    run = billing_run_compute(actor=ACTOR, month=dt.date(2025, 4, 1))

    actual = list(
        run.lines.order_by("id").values_list(
            "group_id",
            "entity_id",
            "bill_to_id",
            "amount",
            "reason",
            "billable_from",
            "billable_to",
            "corrects_month",
            "note",
        )
    )
    assert actual == expected  # ids follow (entity, opened_at, id)
    assert len(actual) == 4 * 5
    assert run.line_count == 20
    assert run.total == 4 * 3 * Decimal("650.00")
