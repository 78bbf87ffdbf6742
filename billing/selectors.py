"""Who sees what of billing (R12), and the reads of billing's API.

Billing's rules join the one visibility table (``dropcopy_admin.selectors.visibility``):
``register_visibility`` is called from ``BillingConfig.ready()``, so the core imports nothing of
billing. Account managers read everything; finance reads every tariff, run and line, and the
billing trail only; clients read their lines of closed runs; clearing firms read nothing.
"""

from django.db import models

from dropcopy_admin.choices import Role
from dropcopy_admin.selectors import visibility
from dropcopy_admin.selectors.visibility import every_row, visible

from .choices import LineReason, RunStatus
from .models import BillingLine, BillingRun, Tariff

# The object types of billing's audit trail, which finance reads (and no other).
BILLING_OBJECT_TYPES = ("tariff", "billingrun", "billingline", "adjustment")


def _closed_runs() -> models.QuerySet:
    return BillingRun.objects.filter(status=RunStatus.CLOSED)


def _clients_lines(user) -> models.Q:
    """A client's lines: those of closed runs whose entity or bill-to is the client's entity."""
    return models.Q(run__in=_closed_runs()) & (models.Q(entity_id=user.entity_id) | models.Q(bill_to_id=user.entity_id))


def register_visibility() -> None:
    """Billing's rows and trail, per role, in the one visibility table."""
    visibility.register(Tariff, {Role.FINANCE: every_row})
    visibility.register(BillingRun, {Role.FINANCE: every_row})
    visibility.register(BillingLine, {Role.FINANCE: every_row, Role.CLIENT: _clients_lines})
    visibility.register_trail(Role.FINANCE, BILLING_OBJECT_TYPES)


def runs_whose_lines_user_lists(user) -> models.QuerySet | None:
    """The runs whose lines ``user`` may list, or ``None`` if the role reads no billing line.

    A role that sees runs lists the lines of any run; a role that reads only some lines (a client)
    lists those of closed runs, so a draft reads to it as missing.
    """
    if visible(user, BillingLine) is None:
        return None
    runs = visible(user, BillingRun)
    return runs if runs is not None else _closed_runs()


def run_lines(user, run: BillingRun) -> models.QuerySet:
    """The lines of ``run`` that ``user`` reads, in the order they were written."""
    lines = visible(user, BillingLine)
    if lines is None:
        return BillingLine.objects.none()
    return lines.filter(run=run).order_by("id")


def adjustment_lines(user) -> models.QuerySet:
    """The adjustment lines ``user`` reads, newest first."""
    lines = visible(user, BillingLine)
    if lines is None:
        return BillingLine.objects.none()
    return lines.filter(reason=LineReason.ADJUSTMENT).order_by("-id")
