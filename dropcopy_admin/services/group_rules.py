"""Rules that other packages add to group writes, run inside the transaction that writes the group.

The core does not know billing or entitlements (or any package built on it); it only asks, at the
moments a group opens, closes, has its times changed or its front-end system changed, every rule
registered here. A package registers its rule
from its ``AppConfig.ready()``; a rule refuses a write by raising a ``DomainError``, which rolls the
whole write back. Rules run with the group's entity row locked (opening) or the group's row locked
(closing, times changed), so what a rule reads stays true until the write commits.
"""

import datetime as dt
from decimal import Decimal
from enum import Enum
from typing import Final

from dropcopy_admin.models import DropCopyGroup, Entity, FrontEndSystem, Venue


class FeeConfirmation(Enum):
    NOT_ASKED = "not asked"


# The default of ``group_create``'s ``confirmed_monthly_fee``: the caller opens the group on its own
# authority and asks nobody to confirm a fee. The API and the admin always pass what the person
# gave instead, ``None`` when they gave nothing.
FEE_NOT_ASKED: Final = FeeConfirmation.NOT_ASKED


class GroupRule:
    """A rule on group writes. Each method does nothing unless a rule overrides it."""

    def before_open(
        self,
        *,
        entity: Entity,
        venue: Venue,
        environment: str,
        opened_at: dt.datetime | None,
        confirmed_monthly_fee: Decimal | FeeConfirmation | None,
    ) -> None:
        """Before a group of ``entity`` opens, first thing; ``opened_at`` is None for now."""

    def before_open_with_front_end_system(
        self, *, entity: Entity, venue: Venue, environment: str, front_end_system: FrontEndSystem
    ) -> None:
        """Before a group of ``entity`` opens with ``front_end_system``, once the group's own fields
        (times, name, front-end system) have passed the core's checks."""

    def before_close(self, *, group: DropCopyGroup, closed_at: dt.datetime | None) -> None:
        """Before ``group`` closes; ``closed_at`` is None for now."""

    def before_times_change(
        self, *, group: DropCopyGroup, opened_at: dt.datetime | None, closed_at: dt.datetime | None
    ) -> None:
        """Before ``group``'s opening or closing time changes to the times given (None: unchanged)."""

    def before_front_end_system_change(self, *, group: DropCopyGroup, front_end_system: FrontEndSystem) -> None:
        """Before ``group`` changes to another ``front_end_system`` (one of its entity or a vendor product)."""


_RULES: list[GroupRule] = []


def group_rule_register(rule: GroupRule) -> None:
    """Add ``rule`` to every group write; registering a rule of the same class again replaces it."""
    _RULES[:] = [registered for registered in _RULES if type(registered) is not type(rule)]
    _RULES.append(rule)


def group_rules() -> tuple[GroupRule, ...]:
    """The registered rules, in the order they were registered."""
    return tuple(_RULES)
