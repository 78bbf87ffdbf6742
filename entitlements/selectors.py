"""Reads of the approval workflow: a clearing firm's queue of pending requests (R8)."""

import datetime as dt
from dataclasses import dataclass

from django.db import models

from dropcopy_admin import clock
from dropcopy_admin.choices import MembershipStatus
from dropcopy_admin.models import Entity, Membership
from dropcopy_admin.selectors.visibility import visible

# The queue's sort keys, as the page and the export spell them; "-age" (oldest first) by default.
QUEUE_ORDERINGS: dict[str, tuple[str, ...]] = {
    "-age": ("requested_at", "pk"),
    "age": ("-requested_at", "-pk"),
    "sender_comp_id": ("source_session__sender_comp_id", "pk"),
    "-sender_comp_id": ("-source_session__sender_comp_id", "-pk"),
    "entity": ("group__entity__code", "requested_at", "pk"),
    "-entity": ("-group__entity__code", "requested_at", "pk"),
}
DEFAULT_QUEUE_ORDERING = "-age"


@dataclass(frozen=True)
class QueueFilters:
    """What the user narrowed the queue to; empty values do not filter."""

    entity_code: str = ""
    venue: str = ""
    environment: str = ""
    search: str = ""
    sort: str = DEFAULT_QUEUE_ORDERING


def approval_queue_pending(*, user) -> models.QuerySet[Membership]:
    """The pending requests ``user`` may decide upon, or none for a role that sees no memberships."""
    memberships = visible(user, Membership)
    if memberships is None:
        return Membership.objects.none()
    return memberships.filter(status=MembershipStatus.PENDING)


def approval_queue(*, user, filters: QueueFilters = QueueFilters()) -> models.QuerySet[Membership]:
    """The user's pending requests, narrowed and sorted by ``filters``, with what the queue shows.

    One query whatever the length: group, entity, session and requester are joined in.
    """
    queue = approval_queue_pending(user=user).select_related("group", "group__entity", "source_session", "requested_by")
    if filters.entity_code:
        queue = queue.filter(group__entity__code=filters.entity_code)
    if filters.venue:
        queue = queue.filter(source_session__venue_id=filters.venue)
    if filters.environment:
        queue = queue.filter(source_session__environment=filters.environment)
    if filters.search:
        queue = queue.filter(
            models.Q(group__name__icontains=filters.search)
            | models.Q(source_session__sender_comp_id__icontains=filters.search)
        )
    return queue.order_by(*QUEUE_ORDERINGS.get(filters.sort, QUEUE_ORDERINGS[DEFAULT_QUEUE_ORDERING]))


def approval_queue_entities(*, user) -> models.QuerySet[Entity]:
    """The entities with a request in the user's queue (the choices of the entity filter)."""
    pending_groups = approval_queue_pending(user=user).values("group__entity_id")
    return Entity.objects.filter(pk__in=pending_groups).order_by("code")


def request_age(membership: Membership, *, now: dt.datetime | None = None) -> dt.timedelta:
    """How long the request has waited, on the product's clock."""
    return max((now or clock.now()) - membership.requested_at, dt.timedelta(0))
