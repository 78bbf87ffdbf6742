"""Celery tasks of billing (R12): they call one service."""

import datetime as dt

from celery import shared_task

from dropcopy_admin.errors import Conflict
from dropcopy_admin.services.audit import SystemActor

from .choices import RunStatus
from .models import BillingRun
from .services import billing_run_compute, current_month

MONTHLY_RUN = SystemActor("create_previous_month_run")


def previous_month(month: dt.date) -> dt.date:
    return dt.date(month.year - 1, 12, 1) if month.month == 1 else dt.date(month.year, month.month - 1, 1)


@shared_task(acks_late=True)
def create_previous_month_run() -> str:
    """Compute the previous Chicago month's run as a draft (R12); a closed run is left untouched.

    Idempotent and safe to run concurrently: the service serialises computes of one month.
    """
    month = previous_month(current_month())
    if BillingRun.objects.filter(month=month, status=RunStatus.CLOSED).exists():
        return f"{month:%Y-%m}: closed, skipped"
    try:
        run = billing_run_compute(actor=MONTHLY_RUN, month=month)
    except Conflict as error:
        if error.code == "billing_period_closed":  # closed meanwhile
            return f"{month:%Y-%m}: closed, skipped"
        raise
    return f"{month:%Y-%m}: {'created' if run.created else 'recomputed'}"
