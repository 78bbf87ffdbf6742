"""Reads of the portal: a clearing firm's queue of pending requests (R8), and the certifications
(R9) and temporary targets (R10) of the client's and the account managers' pages; a
certification's checklist, as the API, the admin and the portal show it, and as the gateway
reads it (R9)."""

import datetime as dt
from dataclasses import dataclass

from django.db import models
from django.db.models import Prefetch, QuerySet

from dropcopy_admin import clock
from dropcopy_admin.certification_checklist import ChecklistState
from dropcopy_admin.choices import (
    CertificationCheckName,
    CertificationStatus,
    MembershipStatus,
    Role,
    TargetStatus,
    TemporaryKind,
)
from dropcopy_admin.models import Entity, KeyPair, Membership, TargetAddress, TargetSession
from dropcopy_admin.selectors import visibility
from dropcopy_admin.selectors.visibility import visible

from .models import Certification, CertificationCheck

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


# --- certifications and temporary targets (R9, R10) ------------------------


def register_visibility() -> None:
    """Entitlements' rows, per role, in the one visibility table: a client reads its entity's
    certifications, and their audit events."""
    visibility.register(Certification, {Role.CLIENT: lambda user: models.Q(entity_id=user.entity_id)}, audited=True)


def _live_key_pairs(prefix: str = "") -> Prefetch:
    """The client key pairs still live, as ``live_key_pairs``: Access Key IDs only, never a secret."""
    now = clock.now()
    return Prefetch(
        f"{prefix}key_pairs",
        queryset=KeyPair.objects.filter(is_probe=False).live(now).order_by("id"),
        to_attr="live_key_pairs",
    )


def _addresses(prefix: str = "") -> Prefetch:
    return Prefetch(f"{prefix}addresses", queryset=TargetAddress.objects.order_by("market_segment", "id"))


def certifications_for_page(user) -> QuerySet:
    """The certifications of the entities ``user`` sees, newest first, with what the page shows."""
    return (
        visible(user, Certification)
        .select_related("front_end_system", "venue", "target")
        .prefetch_related(
            "checks",
            _addresses("target__"),
            _live_key_pairs("target__"),
        )
        .order_by("-requested_at", "-id")
    )


def test_targets_for_page(user) -> QuerySet:
    return (
        visible(user, TargetSession)
        .filter(temporary=TemporaryKind.NEW_RELEASE)
        .select_related("venue")
        .prefetch_related(_addresses(), _live_key_pairs())
        .order_by("-created_at", "-id")
    )


def live_temporary_targets(user) -> QuerySet:
    return (
        visible(user, TargetSession)
        .filter(temporary__isnull=False)
        .exclude(status=TargetStatus.CLOSED)
        .select_related("entity", "venue", "certification", "certification__front_end_system")
        .prefetch_related(_addresses())
        .order_by("expires_at", "id")
    )


# --- a certification's checklist (R9) ----------------------------------------


@dataclass(frozen=True)
class ChecklistItem:
    name: str
    label: str
    passed_at: dt.datetime | None  # None until the gateway has seen the check


def certification_checklist(certification: Certification) -> list[ChecklistItem]:
    """Always the five checks, in their order, from the (prefetched) ``checks`` rows."""
    passed = {check.name: check.passed_at for check in certification.checks.all()}
    return [
        ChecklistItem(name=name, label=label, passed_at=passed.get(name))
        for name, label in CertificationCheckName.choices
    ]


def checklist_load(*, target_id: int) -> ChecklistState | None:
    """The target's ``requested`` certification and the checks it has passed; None when there is none."""
    certification = (
        Certification.objects.filter(target_id=target_id, status=CertificationStatus.REQUESTED)
        .exclude(target__status=TargetStatus.CLOSED)
        .first()
    )
    if certification is None:
        return None
    passed = CertificationCheck.objects.filter(certification=certification, passed_at__isnull=False)
    return ChecklistState(certification_id=certification.pk, passed=frozenset(passed.values_list("name", flat=True)))
