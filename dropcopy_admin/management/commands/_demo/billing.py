"""The demo's billing (R12): closed runs for the previous months, this month's draft, one adjustment.

Each previous month's run is computed as the monthly task does it (the 1st, 06:15 UTC) and closed
by finance the next day, so its CSV, JSON and XLSX and their SHA-256 are stored. A run already
closed is left alone; a draft left from an earlier seed is recomputed and closed now.
"""

import datetime as dt
from collections import Counter
from decimal import Decimal

from billing.choices import LineReason
from billing.models import BillingLine, BillingRun
from billing.services import (
    CHICAGO,
    billing_adjustment_create,
    billing_run_close,
    billing_run_compute,
    current_month,
    month_bounds,
    tariff_for,
)
from billing.tasks import MONTHLY_RUN, previous_month
from dropcopy_admin.choices import Environment
from dropcopy_admin.models import DropCopyGroup, Entity, User

from .timeline import clock_at


def billing_history(*, now: dt.datetime, closed_months: int, finance: User, created: Counter) -> None:
    """Close the ``closed_months`` months before ``now``'s Chicago month and draft that month's run."""
    with clock_at(now):
        this_month = current_month()
    months = [this_month]
    for _ in range(closed_months):
        months.insert(0, previous_month(months[0]))
    for month in months[:-1]:
        run = BillingRun.objects.filter(month=month).first()
        if run is not None and run.is_closed:
            continue
        _, end = month_bounds(month)
        computed_at = dt.datetime.combine(end.astimezone(dt.UTC).date(), dt.time(6, 15), tzinfo=dt.UTC)
        closed_at = computed_at + dt.timedelta(days=1, hours=9)
        with clock_at(min(computed_at, now) if run is None else now):
            billing_run_compute(actor=MONTHLY_RUN, month=month)
        with clock_at(min(closed_at, now) if run is None else now):
            billing_run_close(actor=finance, month=month)
        created["billing runs closed"] += 1
    if not BillingRun.objects.filter(month=this_month).exists():
        with clock_at(now):
            billing_run_compute(actor=finance, month=this_month)
        created["billing runs"] += 1


def billing_adjustment(*, now: dt.datetime, entity: Entity, finance: User, created: Counter) -> None:
    """Half a month's fee returned to ``entity`` for its latest production group, opened part-way into its month.

    That group is never the entity's first of the month in the demo, so it was billed the fee.
    """
    if BillingLine.objects.filter(reason=LineReason.ADJUSTMENT, entity=entity).exists():
        return
    group = (
        DropCopyGroup.objects.filter(entity=entity, environment=Environment.PRODUCTION)
        .order_by("-opened_at", "-pk")
        .first()
    )
    if group is None:
        return
    opened = group.opened_at.astimezone(CHICAGO).date()
    month = opened.replace(day=1)
    fee = tariff_for(month).monthly_fee
    if fee == 0:
        return
    with clock_at(now):
        billing_adjustment_create(
            actor=finance,
            entity=entity,
            corrects_month=month,
            amount=-(fee / 2).quantize(Decimal("0.01")),
            note=(
                f"{group.name} opened on {opened.day} {opened:%B %Y} and was billed the whole month; "
                "half of that month's fee returned, as agreed with the client."
            ),
        )
    created["billing adjustments"] += 1
