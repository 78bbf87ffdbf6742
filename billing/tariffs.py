"""Tariff writes (R12): account managers and finance add and change tariffs; a change applies from
its effective month on only, so no tariff may start in, or reach back into, a closed month. Each
write is audited in its own transaction (R18)."""

import datetime as dt
from decimal import Decimal

from django.db import transaction

from dropcopy_admin import errors
from dropcopy_admin.choices import Role
from dropcopy_admin.services.audit import Actor, SystemActor, audit_record, snapshot
from dropcopy_admin.services.common import save_unique

from .choices import RunStatus
from .models import BillingRun, Tariff

TARIFF_EDITORS = (Role.ACCOUNT_MANAGER, Role.FINANCE)
EDITABLE_FIELDS = ("effective_month", "free_groups", "monthly_fee", "currency")


def _require_tariff_editor(actor: Actor) -> None:
    if isinstance(actor, SystemActor):
        return
    if not actor.is_active or actor.effective_role not in TARIFF_EDITORS:
        raise errors.PermissionDenied("Only account managers and finance may edit tariffs.")


def _check_values(values: dict) -> dict:
    """The editable fields of ``values``, checked; unknown fields are refused."""
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise errors.InvalidInput.field(sorted(unknown)[0], "This field cannot be set.")
    month = values.get("effective_month")
    if "effective_month" in values and (not isinstance(month, dt.date) or month.day != 1):
        raise errors.InvalidInput.field("effective_month", "Give the first day of a month.")
    fee = values.get("monthly_fee")
    if "monthly_fee" in values and (not isinstance(fee, Decimal) or not fee.is_finite() or fee < 0):
        raise errors.InvalidInput.field("monthly_fee", "Give an amount of at least 0.00.")
    free = values.get("free_groups")
    if "free_groups" in values and (not isinstance(free, int) or free < 0):
        raise errors.InvalidInput.field("free_groups", "Give a whole number of at least 0.")
    return values


def _lock_open_period_from(month: dt.date) -> None:
    """Refuse ``billing_period_closed`` when a run of ``month`` or later is closed.

    The runs from ``month`` on are locked (in month order, as a close locks its run) so that a run
    cannot close while the tariff it was priced with changes.
    """
    runs = BillingRun.objects.select_for_update().filter(month__gte=month).order_by("month")
    closed = [run.month for run in runs.only("id", "month", "status") if run.status == RunStatus.CLOSED]
    if closed:
        raise errors.Conflict(
            f"The run of {closed[-1]:%Y-%m} is closed: a tariff may start only after it.",
            code="billing_period_closed",
        )


def _taken(month: dt.date):
    return lambda: errors.already_exists(f"A tariff from {month:%Y-%m} exists.")


def tariff_create(
    *,
    actor: Actor,
    effective_month: dt.date,
    monthly_fee: Decimal,
    free_groups: int = 1,
    currency: str = "USD",
) -> Tariff:
    """Add the tariff in force from ``effective_month`` (after every closed run) until the next one."""
    _require_tariff_editor(actor)
    values = _check_values(
        {
            "effective_month": effective_month,
            "monthly_fee": monthly_fee,
            "free_groups": free_groups,
            "currency": currency,
        }
    )
    with transaction.atomic():
        _lock_open_period_from(effective_month)
        if Tariff.objects.filter(effective_month=effective_month).exists():
            raise _taken(effective_month)()
        tariff = Tariff(**values)
        save_unique(tariff, on_conflict=_taken(effective_month))
        audit_record(actor=actor, action="tariff.create", instance=tariff)
    return tariff


def tariff_update(*, actor: Actor, tariff: Tariff, changes: dict) -> Tariff:
    """Change a tariff that neither starts in nor moves into a closed month.

    A tariff is in force from its month until the next one, so the earlier of its old and new
    months must come after every closed run.
    """
    _require_tariff_editor(actor)
    changes = _check_values(dict(changes))
    with transaction.atomic():
        tariff = Tariff.objects.select_for_update().get(pk=tariff.pk)
        old_month = tariff.effective_month
        new_month = changes.get("effective_month", old_month)
        _lock_open_period_from(min(old_month, new_month))
        before = snapshot(tariff)
        for name, value in changes.items():
            setattr(tariff, name, value)
        if new_month != old_month and Tariff.objects.filter(effective_month=new_month).exists():
            raise _taken(new_month)()
        save_unique(tariff, on_conflict=_taken(new_month))
        after = snapshot(tariff)
        if after != before:
            audit_record(actor=actor, action="tariff.update", instance=tariff, before=before, after=after)
    return tariff
