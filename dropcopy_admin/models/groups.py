"""Drop Copy groups (R2–R4) and their memberships."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from dropcopy_admin.choices import (
    LIVE_MEMBERSHIP_STATUSES,
    Environment,
    GroupStatus,
    MembershipStatus,
)

from .parties import Entity
from .reference import Venue
from .sessions import FrontEndSystem, SourceSession


class DropCopyGroup(models.Model):
    """One entity's set of source sessions for one venue and environment. Closed, never deleted."""

    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="groups")
    name = models.CharField(max_length=100)
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="groups")
    environment = models.CharField(max_length=16, choices=Environment.choices)
    front_end_system = models.ForeignKey(FrontEndSystem, on_delete=models.PROTECT, related_name="groups")
    message_filters = models.JSONField()
    status = models.CharField(max_length=8, choices=GroupStatus.choices, default=GroupStatus.ACTIVE)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "Drop Copy group"
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                "entity",
                condition=models.Q(status=GroupStatus.ACTIVE),
                name="group_open_name_unique_per_entity",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(status=GroupStatus.ACTIVE, closed_at__isnull=True)
                    | models.Q(status=GroupStatus.CLOSED, closed_at__isnull=False)
                ),
                name="group_closed_iff_closed_at",
            ),
            models.CheckConstraint(
                condition=models.Q(closed_at__isnull=True) | models.Q(closed_at__gte=models.F("opened_at")),
                name="group_closed_after_opened",
            ),
        ]
        indexes = [models.Index(fields=["entity", "status"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.entity.code})"

    @property
    def is_open(self) -> bool:
        return self.status == GroupStatus.ACTIVE


class Membership(models.Model):
    """One source session in one group, with its state and, once approved, its target."""

    group = models.ForeignKey(DropCopyGroup, on_delete=models.PROTECT, related_name="memberships")
    source_session = models.ForeignKey(SourceSession, on_delete=models.PROTECT, related_name="memberships")
    status = models.CharField(
        max_length=10,
        choices=MembershipStatus.choices,
        default=MembershipStatus.PENDING,
    )
    auto_approved = models.BooleanField(default=False)
    target = models.ForeignKey(
        "dropcopy_admin.TargetSession",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="requested_memberships",
    )
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decided_memberships",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "source_session"],
                condition=models.Q(status__in=LIVE_MEMBERSHIP_STATUSES),
                name="membership_one_live_per_group_and_session",
            ),
            models.CheckConstraint(
                condition=models.Q(status=MembershipStatus.APPROVED) | models.Q(target__isnull=True),
                name="membership_target_only_when_approved",
            ),
        ]
        indexes = [models.Index(fields=["status", "requested_at"])]

    def __str__(self) -> str:
        return f"{self.source_session.sender_comp_id} in {self.group.name}"
