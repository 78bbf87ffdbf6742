"""Billing writes (R12): computing a month's run and closing it. Audited at run level (R18)."""

import datetime as dt
import hashlib
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Count, Sum

from dropcopy_admin import clock
from dropcopy_admin.choices import Environment
from dropcopy_admin.errors import Conflict, InvalidInput, NotFound, invalid_transition
from dropcopy_admin.services.audit import Actor, audit_record, snapshot
from dropcopy_admin.services.common import check_text

from . import exports
from .choices import LineReason, RunStatus
from .models import BillingLine, BillingRun, Tariff

CHICAGO = ZoneInfo("America/Chicago")


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants of 00:00 America/Chicago on the 1st of ``month`` and of the next month."""

    def start_of(day: dt.date) -> dt.datetime:
        return dt.datetime(day.year, day.month, 1, tzinfo=CHICAGO).astimezone(dt.UTC)

    return start_of(month), start_of(next_month(month))


def current_month() -> dt.date:
    return first_of_month(clock.now().astimezone(CHICAGO).date())


def tariff_for(month: dt.date) -> Tariff:
    """The tariff in force for ``month``: the latest whose effective month is not after it."""
    tariff = Tariff.objects.filter(effective_month__lte=month).order_by("-effective_month").first()
    if tariff is None:
        # Only a month before the first tariff (seeded from 2000-01; tariffs are never deleted).
        raise InvalidInput.field("month", f"No tariff is in force for {month:%Y-%m}; billing starts later.")
    return tariff


# R12 in one statement: the production groups billable in [start, end) — opened before the end,
# not closed by the start — numbered per entity by opened_at (ties: lower id); the first
# ``free_groups`` of each entity are free, every other costs the tariff's fee. Each line is billed to
# the entity's bill-to party (itself when it has none) and its billable interval is clipped to the
# month. Lines are inserted in (entity, opened_at, id) order, so their ids follow that order.
INSERT_GROUP_LINES_SQL = """
INSERT INTO billing_billingline
    (run_id, entity_id, bill_to_id, group_id, amount, reason, corrects_month, note, billable_from, billable_to)
SELECT %(run_id)s,
       billable.entity_id,
       coalesce(entity.bill_to_id, entity.id),
       billable.id,
       CASE WHEN billable.rank_in_entity <= %(free_groups)s THEN %(free_amount)s ELSE %(fee)s END,
       CASE WHEN billable.rank_in_entity <= %(free_groups)s THEN %(free_reason)s ELSE %(fee_reason)s END,
       NULL,
       '',
       greatest(billable.opened_at, %(start)s),
       least(coalesce(billable.closed_at, %(end)s), %(end)s)
FROM (
    SELECT id, entity_id, opened_at, closed_at,
           row_number() OVER (PARTITION BY entity_id ORDER BY opened_at, id) AS rank_in_entity
    FROM dropcopy_admin_dropcopygroup
    WHERE environment = %(environment)s
      AND opened_at < %(end)s
      AND (closed_at IS NULL OR closed_at > %(start)s)
) AS billable
JOIN dropcopy_admin_entity AS entity ON entity.id = billable.entity_id
ORDER BY billable.entity_id, billable.opened_at, billable.id
"""


def _insert_group_lines(run: BillingRun, tariff: Tariff) -> None:
    """Write the run's group lines (R12) with ``INSERT_GROUP_LINES_SQL``, inside the caller's transaction."""
    start, end = month_bounds(run.month)
    params = {
        "run_id": run.pk,
        "free_groups": tariff.free_groups,
        "free_amount": Decimal("0.00"),
        "fee": tariff.monthly_fee,
        "free_reason": LineReason.FREE.value,
        "fee_reason": LineReason.ADDITIONAL.value,
        "environment": Environment.PRODUCTION.value,
        "start": start,
        "end": end,
    }
    with connection.cursor() as cursor:
        cursor.execute(INSERT_GROUP_LINES_SQL, params)


def _require_first_day(month: dt.date) -> dt.date:
    if not isinstance(month, dt.date) or month.day != 1:
        raise InvalidInput.field("month", "Give the first day of a month.")
    return month


def _locked_draft_run(month: dt.date) -> tuple[BillingRun, bool]:
    """The run of ``month`` (created as a draft if missing), row-locked; a closed one is refused.

    Call inside a transaction. ``get_or_create`` inserts under a savepoint and, on IntegrityError
    from a concurrent insert, reads the row the other transaction committed.
    """
    run, created = BillingRun.objects.get_or_create(month=month)
    run = BillingRun.objects.select_for_update().get(pk=run.pk)
    if run.is_closed:
        raise Conflict(f"The run of {month:%Y-%m} is closed.", code="billing_period_closed")
    return run, created


def billing_run_compute(*, actor: Actor, month: dt.date) -> BillingRun:
    """Compute (or recompute, while draft) the run of ``month``.

    Group lines are replaced, written by one set-based statement (``INSERT_GROUP_LINES_SQL``) in this
    transaction; adjustment lines already in the run are kept. Concurrent computes of one month
    serialise on the run row.
    """
    month = _require_first_day(month)
    if month > current_month():
        raise InvalidInput.field("month", f"{month:%Y-%m} has not begun.")
    with transaction.atomic():
        run, created = _locked_draft_run(month)
        before = None if created else snapshot(run)
        tariff = tariff_for(month)
        run.lines.exclude(reason=LineReason.ADJUSTMENT).delete()
        _insert_group_lines(run, tariff)
        summary = run.lines.aggregate(total=Sum("amount"), count=Count("id"))
        run.total = summary["total"] or Decimal("0.00")
        run.line_count = summary["count"]
        run.currency = tariff.currency
        run.computed_at = clock.now()
        run.save()
        audit_record(
            actor=actor,
            action="billing_run.create" if created else "billing_run.recompute",
            instance=run,
            before=before,
        )
    run.created = created
    return run


def billing_run_close(*, actor: Actor, month: dt.date) -> BillingRun:
    """Close the run of an ended month: render its exports once, store them and freeze the run."""
    month = _require_first_day(month)
    with transaction.atomic():
        run = BillingRun.objects.select_for_update().filter(month=month).first()
        if run is None:
            raise NotFound(f"There is no run for {month:%Y-%m}.")
        if run.is_closed:
            raise invalid_transition(f"The run of {month:%Y-%m} is already closed.")
        _, end = month_bounds(month)
        if clock.now() < end:
            raise invalid_transition(f"{month:%Y-%m} has not ended yet.")
        before = snapshot(run)
        lines = run.lines.select_related("entity", "bill_to", "group").order_by("id")
        rows = exports.line_rows(run, lines)
        run.csv_bytes = exports.render_csv(rows)
        run.json_bytes = exports.render_json(run, rows)
        run.xlsx_bytes = exports.render_xlsx(run, rows)
        run.csv_sha256 = hashlib.sha256(run.csv_bytes).hexdigest()
        run.json_sha256 = hashlib.sha256(run.json_bytes).hexdigest()
        run.xlsx_sha256 = hashlib.sha256(run.xlsx_bytes).hexdigest()
        run.status = RunStatus.CLOSED
        run.closed_at = clock.now()
        run.save()
        audit_record(actor=actor, action="billing_run.close", instance=run, before=before)
    return run


def _parse_adjustment(corrects_month, amount, note) -> tuple[dt.date, Decimal, str]:
    if not isinstance(corrects_month, dt.date):
        raise InvalidInput.field("corrects_month", "Give a month as YYYY-MM.")
    corrects_month = first_of_month(corrects_month)
    if corrects_month > current_month():
        raise InvalidInput.field("corrects_month", f"{corrects_month:%Y-%m} has not begun.")
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise InvalidInput.field("amount", "Give a decimal amount.")
    if amount == 0:
        raise InvalidInput.field("amount", "An adjustment may not be zero.")
    if amount.as_tuple().exponent < -2:
        raise InvalidInput.field("amount", "Give at most 2 decimal places.")
    if abs(amount) >= Decimal("100000000"):
        raise InvalidInput.field("amount", "The amount is too large.")
    note = note.strip() if isinstance(note, str) else ""
    if not note:
        raise InvalidInput.field("note", "A note is required.")
    if len(note) > 500:
        raise InvalidInput.field("note", "At most 500 characters.")
    check_text("note", note, multiline=True)
    return corrects_month, amount.quantize(Decimal("0.01")), note


def billing_adjustment_create(
    *, actor: Actor, entity, corrects_month: dt.date, amount: Decimal, note: str
) -> BillingLine:
    """Add an adjustment line (R12) to the current Chicago month's run, creating it as a draft."""
    corrects_month, amount, note = _parse_adjustment(corrects_month, amount, note)
    month = current_month()
    with transaction.atomic():
        run, created = _locked_draft_run(month)
        before = None if created else snapshot(run)
        line = BillingLine.objects.create(
            run=run,
            entity=entity,
            bill_to_id=entity.bill_to_party_id or entity.pk,
            group=None,
            amount=amount,
            reason=LineReason.ADJUSTMENT,
            corrects_month=corrects_month,
            note=note,
        )
        summary = run.lines.aggregate(total=Sum("amount"), count=Count("id"))
        run.total = summary["total"] or Decimal("0.00")
        run.line_count = summary["count"]
        run.save()
        audit_record(
            actor=actor,
            action="billing_run.create" if created else "billing_run.adjust",
            instance=run,
            before=before,
        )
    return line


def billing_period_guard(*, opened_at: dt.datetime | None = None, closed_at: dt.datetime | None = None) -> None:
    """Refuse a back-dated open or close time that falls in (or before the end of) a closed month (R4)."""
    times = [moment for moment in (opened_at, closed_at) if moment is not None]
    if not times:
        return
    earliest = min(times)
    # A month ends after ``earliest`` exactly when it is the Chicago month of ``earliest`` or later.
    floor_month = first_of_month(earliest.astimezone(CHICAGO).date())
    closed = BillingRun.objects.filter(status=RunStatus.CLOSED, month__gte=floor_month).order_by("month").first()
    if closed is not None:
        raise Conflict(
            f"That time falls in or before {closed.month:%Y-%m}, whose billing run is closed.",
            code="billing_period_closed",
        )
