"""The fee preview and its confirmation on production group creation (R13).

Before a production group is created the client sees the entity's ``active_groups`` (its
production groups billable this month, closed ones included) and ``monthly_fee`` (what one more
group opened now would cost this month under R12). The creation must carry that fee as
``confirmed_monthly_fee``; a stale one is refused with ``fee_changed``. Billing's group rule
(``group_rules.py``) makes the check inside ``group_create``'s transaction, which holds the
entity's row lock, so two concurrent creations for one entity take turns and cannot both confirm
the free slot.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q

from dropcopy_admin import errors
from dropcopy_admin.choices import Environment
from dropcopy_admin.models import DropCopyGroup, Entity

from .services import current_month, month_bounds, tariff_for


@dataclass(frozen=True)
class FeePreview:
    active_groups: int
    monthly_fee: Decimal
    currency: str


def fee_preview(entity: Entity) -> FeePreview:
    """What one more production group opened now would cost ``entity`` this Chicago month (R12, R13)."""
    month = current_month()
    start, end = month_bounds(month)
    tariff = tariff_for(month)
    active_groups = (
        DropCopyGroup.objects.filter(entity=entity, environment=Environment.PRODUCTION, opened_at__lt=end)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gt=start))
        .count()
    )
    # A group opened now is the latest billable one of the month: free only while the entity's
    # billable groups have not yet used the tariff's free slots.
    monthly_fee = Decimal("0.00") if active_groups < tariff.free_groups else tariff.monthly_fee
    return FeePreview(active_groups=active_groups, monthly_fee=monthly_fee, currency=tariff.currency)


def require_confirmed_fee(*, entity: Entity, confirmed_monthly_fee: Decimal | None) -> None:
    """Refuse a production group of ``entity`` whose fee is missing or no longer the preview's (R13).

    Called by billing's group rule (``group_rules.py``) inside the creating transaction, after
    ``group_create`` has locked the entity's row.
    """
    if confirmed_monthly_fee is None:
        raise errors.InvalidInput.field(
            "confirmed_monthly_fee",
            "Required for a PRODUCTION group: confirm the monthly fee shown by the entity's fee preview.",
        )
    preview = fee_preview(entity)
    if confirmed_monthly_fee != preview.monthly_fee:
        raise errors.Conflict(
            f"The monthly fee of one more production group for {entity.code} is now "
            f"{preview.monthly_fee} {preview.currency} ({preview.active_groups} billable this month), "
            f"not {confirmed_monthly_fee}; check the fee preview and confirm again.",
            code="fee_changed",
        )
