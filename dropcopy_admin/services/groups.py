"""Drop Copy groups (R2–R4): create, edit, close — closed, never deleted."""

import datetime as dt
from decimal import Decimal

from django.db import transaction

from dropcopy_admin import clock, errors
from dropcopy_admin.choices import (
    MANDATORY_MESSAGE_FILTERS,
    Environment,
    GroupStatus,
    MembershipStatus,
    MessageFilter,
    Role,
    TargetStatus,
)
from dropcopy_admin.models import (
    DropCopyGroup,
    Entity,
    FrontEndSystem,
    Membership,
    TargetSession,
    User,
    Venue,
)

from .audit import Actor, audit_record, audit_record_changes, snapshot
from .common import check_text, require_client_may_write, update_fields
from .group_rules import FEE_NOT_ASKED, FeeConfirmation, group_rules
from .targets import targets_close


def group_require_writer(actor: Actor, *, group: DropCopyGroup | None = None) -> None:
    """Refuse, before any input is read, a caller who may not write groups (or this group).

    Account managers and client administrators write groups; clearing firms and finance only read
    them. A client writes only its own entity's groups, when that entity may self-serve (R3a).
    """
    if isinstance(actor, User) and actor.effective_role not in (Role.ACCOUNT_MANAGER, Role.CLIENT):
        raise errors.PermissionDenied("Your role may read groups but not change them.")
    if group is not None:
        require_client_may_write(actor, entity=group.entity, venue_code=group.venue_id)


def normalize_message_filters(filters) -> list[str]:
    """The filters in canonical order; ``fills`` and ``trade_busts`` are always included."""
    if filters is None:
        return list(MessageFilter.values)
    if not isinstance(filters, list | tuple) or not all(isinstance(item, str) for item in filters):
        raise errors.InvalidInput.field("message_filters", "A list of message filter names.")
    unknown = sorted(set(filters) - set(MessageFilter.values))
    if unknown:
        raise errors.InvalidInput.field("message_filters", f"Unknown message filters: {', '.join(unknown)}.")
    chosen = set(filters) | set(MANDATORY_MESSAGE_FILTERS)
    return [value for value in MessageFilter.values if value in chosen]


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise errors.InvalidInput.field("name", "This field may not be blank.")
    check_text("name", name)
    return name


def _check_front_end_system(*, entity: Entity, system: FrontEndSystem) -> None:
    if system.entity_id not in (None, entity.pk):
        raise errors.InvalidInput.field(
            "front_end_system",
            "Not a front-end system of this entity or a vendor product.",
        )


def _check_past_time(
    *,
    actor: Actor,
    at: dt.datetime | None,
    field: str,
    not_before: dt.datetime | None = None,
):
    if at is None:
        return
    if isinstance(actor, User) and not actor.is_account_manager:
        raise errors.PermissionDenied(f"Only account managers set {field}.")
    if at > clock.now():
        raise errors.InvalidInput.field(field, "This time is in the future.")
    if not_before is not None and at < not_before:
        raise errors.InvalidInput.field(field, "This time is before the group was opened.")


def _name_taken(entity: Entity, name: str) -> errors.DomainError:
    return errors.already_exists(f"Entity {entity.code} already has an open group named {name!r}.")


def _open_name_taken(*, entity: Entity, name: str, exclude_pk: int | None = None) -> bool:
    groups = DropCopyGroup.objects.filter(entity=entity, status=GroupStatus.ACTIVE, name__iexact=name)
    return groups.exclude(pk=exclude_pk).exists()


def group_create(
    *,
    actor: Actor,
    entity: Entity,
    name: str,
    venue: Venue,
    environment: str,
    front_end_system: FrontEndSystem,
    message_filters: list[str] | None = None,
    opened_at: dt.datetime | None = None,
    confirmed_monthly_fee: Decimal | FeeConfirmation | None = FEE_NOT_ASKED,
) -> DropCopyGroup:
    """Open a group. Creations for one entity are serialised on the entity's row.

    The registered group rules (``group_rules``) run first, with the entity's row locked: billing's
    refuses an ``opened_at`` in a closed month and a production group whose ``confirmed_monthly_fee``
    is missing or stale (R13). The API and the admin pass the fee the person confirmed, ``None`` when
    none was given; a caller acting on its own authority leaves it out and is asked for none. Once
    the group's own fields pass, the rules run again with its front-end system: entitlements' refuses
    a production group whose system has no passed certification for the venue (R9).
    """
    require_client_may_write(actor, entity=entity, venue_code=venue.code)
    if environment not in Environment.values:
        raise errors.InvalidInput.field("environment", f'"{environment}" is not a valid choice.')
    with transaction.atomic():
        Entity.objects.select_for_update().get(pk=entity.pk)
        for rule in group_rules():
            rule.before_open(
                entity=entity,
                venue=venue,
                environment=environment,
                opened_at=opened_at,
                confirmed_monthly_fee=confirmed_monthly_fee,
            )
        _check_past_time(actor=actor, at=opened_at, field="opened_at")
        name = _check_name(name)
        _check_front_end_system(entity=entity, system=front_end_system)
        filters = normalize_message_filters(message_filters)
        if _open_name_taken(entity=entity, name=name):
            raise _name_taken(entity, name)
        for rule in group_rules():
            rule.before_open_with_front_end_system(
                entity=entity, venue=venue, environment=environment, front_end_system=front_end_system
            )
        group = DropCopyGroup.objects.create(
            entity=entity,
            name=name,
            venue=venue,
            environment=environment,
            front_end_system=front_end_system,
            message_filters=filters,
            opened_at=opened_at or clock.now(),
        )
        audit_record(actor=actor, action="create", instance=group)
    return group


def group_update(*, actor: Actor, group: DropCopyGroup, **changes) -> DropCopyGroup:
    """Edit the name, the message filters or the front-end system of an open group; another
    front-end system passes the registered group rules first (entitlements': its certification, R9)."""
    require_client_may_write(actor, entity=group.entity, venue_code=group.venue_id)
    if "name" in changes:
        changes["name"] = _check_name(changes["name"])
    if "message_filters" in changes:
        changes["message_filters"] = normalize_message_filters(changes["message_filters"])
    with transaction.atomic():
        Entity.objects.select_for_update().get(pk=group.entity_id)
        group = DropCopyGroup.objects.select_for_update().select_related("entity").get(pk=group.pk)
        if not group.is_open:
            raise errors.Conflict("This group is closed and can no longer change.", code="group_closed")
        if "opened_at" in changes or "closed_at" in changes:
            for rule in group_rules():
                rule.before_times_change(
                    group=group, opened_at=changes.get("opened_at"), closed_at=changes.get("closed_at")
                )
        if "front_end_system" in changes:
            _check_front_end_system(entity=group.entity, system=changes["front_end_system"])
            if changes["front_end_system"].pk != group.front_end_system_id:
                for rule in group_rules():
                    rule.before_front_end_system_change(group=group, front_end_system=changes["front_end_system"])
        if "name" in changes and _open_name_taken(entity=group.entity, name=changes["name"], exclude_pk=group.pk):
            raise _name_taken(group.entity, changes["name"])
        return update_fields(
            actor=actor,
            instance=group,
            changes=changes,
            on_conflict=lambda: _name_taken(group.entity, changes["name"]),
        )


def group_close(*, actor: Actor, group: DropCopyGroup, at: dt.datetime | None = None) -> DropCopyGroup:
    """Close a group (R4): end its memberships and close its targets; its history stays.

    The registered group rules run first, with the group's row locked: billing's refuses an ``at``
    in a closed month.
    """
    require_client_may_write(actor, entity=group.entity, venue_code=group.venue_id)
    with transaction.atomic():
        group = DropCopyGroup.objects.select_for_update().get(pk=group.pk)
        for rule in group_rules():
            rule.before_close(group=group, closed_at=at)
        if not group.is_open:
            raise errors.invalid_transition("This group is already closed.")
        _check_past_time(actor=actor, at=at, field="at", not_before=group.opened_at)
        closed_at = at or clock.now()
        before = snapshot(group)
        group.status = GroupStatus.CLOSED
        group.closed_at = closed_at
        group.save(update_fields=["status", "closed_at"])
        audit_record(actor=actor, action="close", instance=group, before=before)
        _end_memberships_of_closed_group(actor=actor, group=group, at=closed_at)
        _close_targets_of_closed_group(actor=actor, group=group, at=closed_at)
    return group


_ENDING_ON_CLOSE = {
    MembershipStatus.APPROVED: MembershipStatus.REMOVED,
    MembershipStatus.PENDING: MembershipStatus.WITHDRAWN,
}


def _end_memberships_of_closed_group(*, actor: Actor, group: DropCopyGroup, at: dt.datetime) -> None:
    memberships = list(
        Membership.objects.select_for_update().filter(group=group, status__in=list(_ENDING_ON_CLOSE)).order_by("pk")
    )
    changes = []
    for membership in memberships:
        changes.append((membership, snapshot(membership)))
        membership.status = _ENDING_ON_CLOSE[membership.status]
        membership.target = None
        membership.ended_at = at
    audit_record_changes(actor=actor, action="end_on_group_close", changes=changes)
    Membership.objects.bulk_update(memberships, ["status", "target", "ended_at"], batch_size=1000)


def _close_targets_of_closed_group(*, actor: Actor, group: DropCopyGroup, at: dt.datetime) -> None:
    targets = TargetSession.objects.select_for_update().filter(group=group).exclude(status=TargetStatus.CLOSED)
    targets_close(actor=actor, targets=list(targets.order_by("pk")), at=at)
