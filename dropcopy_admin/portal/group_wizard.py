"""What the group pages say about money and targets, and the wizard's one write.

- ``fee_words``: the fee dialog and the review's confirmation in plain words (R12, R13).
- ``impact_of``: a target plan (``plan_placements`` / ``targets_preview``) per gateway, for people.
- ``plan_for_new_group``: the plan of a group that does not exist yet — every placeable session
  lands in new targets; nothing is written.
- ``group_create_with_sessions``: the group and its memberships in one transaction.
"""

from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from billing.fees import fee_preview
from billing.services import current_month, next_month, tariff_for
from dropcopy_admin import errors
from dropcopy_admin.choices import Environment, GatewayType
from dropcopy_admin.models import DropCopyGroup, Entity, SourceSession
from dropcopy_admin.services.groups import group_create
from dropcopy_admin.services.targets import Placement, Plan, plan_placements
from entitlements.services.memberships import check_session_fits_group, memberships_request


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def money(amount: Decimal, currency: str) -> str:
    return f"{amount:.2f} {currency}"


@dataclass
class FeeWords:
    monthly_fee: Decimal
    active_groups: int
    currency: str
    dialog: str
    confirmation: str
    production: bool


def fee_words(entity: Entity, environment: str | None = None) -> FeeWords:
    """The entity's production groups this month and what one more costs, as sentences."""
    preview = fee_preview(entity)
    month = current_month()
    tariff = tariff_for(month)
    nth = ordinal(preview.active_groups + 1)
    groups = "group" if preview.active_groups == 1 else "groups"
    if preview.monthly_fee:
        cost = f"{money(preview.monthly_fee, preview.currency)} a month from 1 {month:%B %Y}"
    else:
        first = "the first group is free" if tariff.free_groups == 1 else f"the first {tariff.free_groups} are free"
        cost = f"free ({first})"
    dialog = (
        f"Your entity has {preview.active_groups} production {groups} billed this month. "
        f"One more production group would be its {nth}: {cost}. "
        "New Release and AutoCert+ groups are not billed."
    )
    production = environment in (None, Environment.PRODUCTION)
    if environment == Environment.PRODUCTION:
        confirmation = f"This is your entity's {nth} production group: {cost}."
    else:
        confirmation = f"{Environment(environment).label} groups are not billed." if environment else dialog
    return FeeWords(
        monthly_fee=preview.monthly_fee,
        active_groups=preview.active_groups,
        currency=preview.currency,
        dialog=dialog,
        confirmation=confirmation,
        production=production,
    )


def close_bill_words(group: DropCopyGroup) -> str:
    """What closing ``group`` now does to the bill: a group open any day of a month is billed for it."""
    if group.environment != Environment.PRODUCTION:
        return f"{group.get_environment_display()} groups are not billed: closing changes nothing on your bill."
    month = current_month()
    preview = fee_preview(group.entity)
    after = next_month(month)
    left = max(preview.active_groups - 1, 0)
    return (
        f"{group.name} was open in {month:%B %Y}, so {month:%B %Y} is still billed for it. "
        f"From 1 {after:%B %Y} your entity has one production group fewer: "
        f"{left} instead of {preview.active_groups}."
    )


@dataclass
class GatewayImpact:
    label: str
    joined: "OrderedDict[str, int]" = field(default_factory=OrderedDict)  # TargetCompID → sessions
    new_targets: int = 0
    new_sessions: int = 0


@dataclass
class Impact:
    gateways: list[GatewayImpact]
    refused: list[tuple[SourceSession, errors.DomainError]]
    placed: int

    @property
    def new_targets(self) -> int:
        return sum(g.new_targets for g in self.gateways)


def _gateway_label(session: SourceSession) -> str:
    if session.gateway_type == GatewayType.CGW:
        code = session.cgw_gateway.code if session.cgw_gateway_id else "?"
        return f"iLink gateway {code} (convenience gateway)"
    return "Market segment gateways (MSGW)"


def impact_of(plan: Plan) -> Impact:
    """Per gateway: the existing targets sessions would join, and the new targets that would open."""
    by_label: dict[str, GatewayImpact] = OrderedDict()
    refused = []
    placed = 0
    for placement in plan.placements:
        if placement.error is not None:
            refused.append((placement.session, placement.error))
            continue
        placed += 1
        label = _gateway_label(placement.session)
        gateway = by_label.setdefault(label, GatewayImpact(label=label))
        if placement.target is not None:
            comp_id = placement.target.target_comp_id
            gateway.joined[comp_id] = gateway.joined.get(comp_id, 0) + 1
        else:
            gateway.new_sessions += 1
    for (kind, gateway_id), count in plan.new_targets.items():
        for placement in plan.placements:
            session = placement.session
            if placement.new_target and placement.new_target[0] == (kind, gateway_id):
                by_label[_gateway_label(session)].new_targets = count
                break
    return Impact(gateways=list(by_label.values()), refused=refused, placed=placed)


def plan_for_new_group(*, entity: Entity, venue_code: str, environment: str, sessions: list[SourceSession]) -> Plan:
    """The target plan of a group not yet created: no targets exist, so every placeable session
    lands in new ones. Sessions of another venue or environment are refused as the request would be."""
    group = DropCopyGroup(entity=entity, venue_id=venue_code, environment=environment)
    placeable, refused = [], {}
    for session in sessions:
        try:
            check_session_fits_group(group=group, session=session)
        except errors.DomainError as error:
            refused[session.pk] = error
            continue
        placeable.append(session)
    plan = plan_placements(sessions=placeable, targets={})
    planned = {placement.session.pk: placement for placement in plan.placements}
    plan.placements = [planned.get(s.pk) or Placement(session=s, error=refused[s.pk]) for s in sessions]
    return plan


def group_create_with_sessions(*, actor, entity: Entity, details: dict, message_filters: list[str], sessions, fee):
    """Open the group and request its sessions in one transaction: a refusal of the group (a stale
    fee, a missing certification, a taken name) writes nothing. Sessions refused one by one are in
    the outcomes; the group and the others stand."""
    with transaction.atomic():
        group = group_create(
            actor=actor,
            entity=entity,
            name=details["name"],
            venue=details["venue"],
            environment=details["environment"],
            front_end_system=details["front_end_system"],
            message_filters=message_filters,
            confirmed_monthly_fee=fee if details["environment"] == Environment.PRODUCTION else None,
        )
        outcomes = memberships_request(actor=actor, group=group, sessions=list(sessions)) if sessions else []
    return group, outcomes
