"""Billing's rules on group writes, plugged into the core's group services (``billing/apps.py``).

They run inside the transaction that opens, closes or re-times a group, so a refusal writes
nothing: a time in (or before the end of) a closed month is refused with ``billing_period_closed``
(R4, R12), and a production group opens only with the entity's current monthly fee confirmed
(R13: missing is ``invalid``, stale is ``fee_changed``), checked under the entity's row lock that
the creation holds, so racing creations for one entity take turns.
"""

import datetime as dt
from decimal import Decimal

from dropcopy_admin.choices import Environment
from dropcopy_admin.models import DropCopyGroup, Entity, Venue
from dropcopy_admin.services.group_rules import FEE_NOT_ASKED, FeeConfirmation, GroupRule

from .fees import require_confirmed_fee
from .services import billing_period_guard


class BillingRules(GroupRule):
    def before_open(
        self,
        *,
        entity: Entity,
        venue: Venue,
        environment: str,
        opened_at: dt.datetime | None,
        confirmed_monthly_fee: Decimal | FeeConfirmation | None,
    ) -> None:
        billing_period_guard(opened_at=opened_at)
        if environment == Environment.PRODUCTION and confirmed_monthly_fee is not FEE_NOT_ASKED:
            require_confirmed_fee(entity=entity, confirmed_monthly_fee=confirmed_monthly_fee)

    def before_close(self, *, group: DropCopyGroup, closed_at: dt.datetime | None) -> None:
        billing_period_guard(closed_at=closed_at)

    def before_times_change(
        self, *, group: DropCopyGroup, opened_at: dt.datetime | None, closed_at: dt.datetime | None
    ) -> None:
        # Moving the opening out of a closed month alters that month as much as moving it in; only
        # an open group's times change, so it has no closing time to move yet.
        billing_period_guard(
            opened_at=min(opened_at, group.opened_at) if opened_at is not None else None,
            closed_at=closed_at,
        )
