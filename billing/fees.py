"""The fee preview and its confirmation on production group creation (R13).

Before a production group is created the client sees the entity's ``active_groups`` (its
production groups billable this month, closed ones included) and ``monthly_fee`` (what one more
group opened now would cost this month under R12). The creation must carry that fee as
``confirmed_monthly_fee``; a stale one is refused with ``fee_changed``. The check and the creation
run in one transaction holding the entity's row lock, so two concurrent creations for one entity
take turns and cannot both confirm the free slot.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Q

from dropcopy_admin import errors
from dropcopy_admin.choices import Environment
from dropcopy_admin.models import DropCopyGroup, Entity
from dropcopy_admin.services.audit import Actor
from dropcopy_admin.services.common import require_client_may_write
from dropcopy_admin.services.groups import group_create

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


def _require_confirmed_fee(*, entity: Entity, confirmed_monthly_fee: Decimal | None) -> None:
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


def group_create_confirming_fee(
    *, actor: Actor, entity: Entity, environment: str, confirmed_monthly_fee: Decimal | None, **fields
) -> DropCopyGroup:
    """Create a group; a PRODUCTION one only with the current fee confirmed (R13).

    The entity's row is locked before the fee is checked and stays locked through the creation
    (``group_create`` locks it again inside this transaction), so concurrent creations for one
    entity are serialised. The fee of other environments is ignored.
    """
    venue = fields.get("venue")
    require_client_may_write(actor, entity=entity, venue_code=getattr(venue, "code", None))
    with transaction.atomic():
        Entity.objects.select_for_update().get(pk=entity.pk)
        if environment == Environment.PRODUCTION:
            _require_confirmed_fee(entity=entity, confirmed_monthly_fee=confirmed_monthly_fee)
        return group_create(actor=actor, entity=entity, environment=environment, **fields)
