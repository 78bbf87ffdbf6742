"""Billing's dashboard figures: revenue for the account managers, and finance's months.

Read-only, a constant number of queries whatever the number of runs, lines or groups: totals come
from the runs themselves (``BillingRun.total``, written when a month is computed), per-party sums
from one aggregate over a single run's lines (index ``run, bill_to``), and this month's forecast
from one statement over the live production groups applying the month's tariff (R12).
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Sum

from dropcopy_admin.choices import Environment, GroupStatus

from .choices import LineReason, RunStatus
from .models import BillingLine, BillingRun, Tariff
from .months import BillingMonth

MONTHS = 12
LARGEST_PARTIES = 10
ADJUSTMENTS_LISTED = 10
EXPORT_BYTES = ("csv_bytes", "json_bytes", "xlsx_bytes")


@dataclass(frozen=True)
class MonthTotal:
    run_id: int
    month: dt.date
    status: str
    status_label: str
    total: Decimal
    currency: str
    lines: int
    change: Decimal | None  # from the month before, when that month has a run
    change_percent: float | None

    @property
    def written(self) -> str:
        return str(BillingMonth.of(self.month))

    @property
    def in_words(self) -> str:
        return BillingMonth.of(self.month).in_words


def _runs(*, closed_only: bool, months: int) -> list[MonthTotal]:
    """The latest ``months`` runs (closed ones only if asked), oldest first, each with its change
    from the run of the month before it."""
    runs = BillingRun.objects.defer(*EXPORT_BYTES)
    if closed_only:
        runs = runs.filter(status=RunStatus.CLOSED)
    # One more than shown: the change of the oldest shown month needs its predecessor.
    fetched = list(reversed(runs.order_by("-month")[: months + 1]))
    result = []
    for previous, run in zip([None, *fetched], fetched, strict=False):
        change = percent = None
        if previous is not None and _month_before(run.month) == previous.month:
            change = run.total - previous.total
            percent = round(float(change / previous.total) * 100, 1) if previous.total else None
        result.append(
            MonthTotal(
                run_id=run.pk,
                month=run.month,
                status=run.status,
                status_label=run.get_status_display(),
                total=run.total,
                currency=run.currency,
                lines=run.line_count,
                change=change,
                change_percent=percent,
            )
        )
    return result[-months:]


def _month_before(month: dt.date) -> dt.date:
    return (month - dt.timedelta(days=1)).replace(day=1)


def billed_by_month(*, months: int = MONTHS) -> list[MonthTotal]:
    """The billed amount of each of the last ``months`` closed runs, oldest first: one query."""
    return _runs(closed_only=True, months=months)


# The live production groups, numbered per entity by opened_at (ties: lower id) as billing numbers
# them (R12): the first ``free_groups`` of each entity are free, every other costs the fee.
FORECAST_SQL = """
SELECT ranked.venue_id, count(*), sum(CASE WHEN ranked.rank_in_entity <= %(free_groups)s THEN 0 ELSE %(fee)s END)
FROM (
    SELECT venue_id, row_number() OVER (PARTITION BY entity_id ORDER BY opened_at, id) AS rank_in_entity
    FROM dropcopy_admin_dropcopygroup
    WHERE environment = %(environment)s AND status = %(status)s
) AS ranked
GROUP BY ranked.venue_id
ORDER BY ranked.venue_id
"""


@dataclass(frozen=True)
class VenueForecast:
    venue: str
    groups: int
    amount: Decimal
    currency: str

    @property
    def query(self) -> dict:
        """The changelist filter of the groups behind the figure."""
        return {
            "venue__code__exact": self.venue,
            "environment__exact": Environment.PRODUCTION,
            "status__exact": GroupStatus.ACTIVE,
        }


def forecast_by_venue(*, month: dt.date) -> tuple[list[VenueForecast], Tariff | None]:
    """``month``'s bill as the live production groups would make it, by venue: two queries."""
    tariff = Tariff.objects.filter(effective_month__lte=month).order_by("-effective_month").first()
    if tariff is None:
        return [], None
    params = {
        "free_groups": tariff.free_groups,
        "fee": tariff.monthly_fee,
        "environment": Environment.PRODUCTION.value,
        "status": GroupStatus.ACTIVE.value,
    }
    with connection.cursor() as cursor:
        cursor.execute(FORECAST_SQL, params)
        rows = cursor.fetchall()
    return [VenueForecast(venue, groups, Decimal(amount), tariff.currency) for venue, groups, amount in rows], tariff


def revenue(*, month: dt.date) -> dict:
    """The account managers' revenue panel: the last twelve closed months and ``month``'s forecast."""
    forecast, tariff = forecast_by_venue(month=month)
    return {
        "months": billed_by_month(),
        "forecast": forecast,
        "forecast_total": sum((row.amount for row in forecast), Decimal("0.00")),
        "forecast_groups": sum(row.groups for row in forecast),
        "forecast_month": BillingMonth.of(month),
        "tariff": tariff,
    }


# --- finance ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartyTotal:
    bill_to_id: int
    code: str
    name: str
    total: Decimal
    lines: int


def largest_bill_to(run_id: int | None, *, limit: int = LARGEST_PARTIES) -> list[PartyTotal]:
    """The bill-to parties of a run with the largest totals: one query."""
    rows = (
        BillingLine.objects.filter(run_id=run_id)
        .values("bill_to_id", "bill_to__code", "bill_to__name")
        .annotate(total=Sum("amount"), lines=Count("id"))
        .order_by("-total", "bill_to__code")[:limit]
    )
    return [
        PartyTotal(row["bill_to_id"], row["bill_to__code"], row["bill_to__name"], row["total"], row["lines"])
        for row in rows
    ]


def finance(*, months: int = MONTHS) -> dict:
    """Finance's dashboard: runs by month with totals and change, the largest bill-to parties of
    the latest run, and the adjustments: four queries."""
    runs = _runs(closed_only=False, months=months)
    latest = runs[-1] if runs else None
    # Only adjustments have no group (``billing_line_group_unless_adjustment``; the service writes
    # them without one): the null test walks the group index instead of every line.
    adjustments = BillingLine.objects.filter(reason=LineReason.ADJUSTMENT, group__isnull=True)
    counted = adjustments.aggregate(count=Count("id"), total=Sum("amount"))
    return {
        "runs": runs,
        "latest": latest,
        "largest": largest_bill_to(latest.run_id if latest else None),  # one query, a run or none
        "adjustments": list(
            adjustments.select_related("run", "entity", "bill_to")
            .defer(*(f"run__{name}" for name in EXPORT_BYTES))
            .order_by("-id")[:ADJUSTMENTS_LISTED]
        ),
        "adjustment_count": counted["count"],
        "adjustment_total": counted["total"] or Decimal("0.00"),
    }
