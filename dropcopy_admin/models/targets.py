"""Target sessions: the FIX sessions, chosen by the system, over which a group's data flows (R6, R7)."""

from django.db import models

from dropcopy_admin.choices import (
    AddressRole,
    Environment,
    GatewayType,
    TargetStatus,
    TemporaryKind,
)

from .groups import DropCopyGroup
from .parties import Entity
from .reference import CgwGateway, Venue


class TargetSession(models.Model):
    group = models.ForeignKey(
        DropCopyGroup,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="targets",
    )
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="targets")
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="targets")
    environment = models.CharField(max_length=16, choices=Environment.choices)
    gateway_type = models.CharField(max_length=4, choices=GatewayType.choices)
    cgw_gateway = models.ForeignKey(
        CgwGateway,
        verbose_name="convenience gateway",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="targets",
    )
    target_comp_id = models.CharField("TargetCompID", max_length=7, help_text="6 uppercase letters or digits, then N")
    port = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=TargetStatus.choices, default=TargetStatus.PENDING)
    provisioning_error_code = models.CharField(max_length=50, blank=True)
    provisioning_error_detail = models.CharField(max_length=500, blank=True)
    capacity = models.PositiveIntegerField()
    used = models.PositiveIntegerField(default=0)
    temporary = models.CharField(max_length=12, choices=TemporaryKind.choices, null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    expiry_warned_at = models.DateTimeField(
        null=True, blank=True, help_text="When the entity was warned of the coming expiry; reset on renewal"
    )
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    provisioning_requested_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When provisioning was last queued and not done yet; asked again when it stays undone",
    )
    verification_requested_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When a check was last queued and not run yet; asked again when it stays unrun",
    )

    # Bookkeeping of queued work, not a change of the target: left out of the audit trail.
    AUDIT_EXCLUDE = ("provisioning_requested_at", "verification_requested_at")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "target_comp_id"], name="target_comp_id_unique"),
            models.CheckConstraint(
                condition=models.Q(used__lte=models.F("capacity")),
                name="target_within_capacity",
            ),
        ]

    def __str__(self) -> str:
        return self.target_comp_id


class TargetAddress(models.Model):
    """One address a target listens on: primary or backup, per market segment for MSGW."""

    target = models.ForeignKey(TargetSession, on_delete=models.CASCADE, related_name="addresses")
    ip = models.GenericIPAddressField("IP", protocol="IPv4")
    port = models.PositiveIntegerField()
    role = models.CharField(max_length=8, choices=AddressRole.choices)
    market_segment = models.PositiveSmallIntegerField(null=True, blank=True)
    target_sub_id = models.CharField("TargetSubID", max_length=20)
    released = models.BooleanField(default=False, help_text="Set when the target closes; frees the port")

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "target addresses"
        constraints = [
            models.UniqueConstraint(
                fields=["ip", "port"],
                condition=models.Q(released=False),
                name="target_address_port_unique",
            ),
        ]

    def __str__(self) -> str:
        segment = "" if self.market_segment is None else f" segment {self.market_segment:02d}"
        return f"{self.target.target_comp_id} {self.role} {self.ip}:{self.port}{segment}"
