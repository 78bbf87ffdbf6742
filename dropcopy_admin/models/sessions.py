"""iLink source sessions (R5) and the front-end systems that consume drop copy."""

from django.db import models

from dropcopy_admin.choices import Environment, GatewayType

from .parties import ClearingFirm, Entity, Gfid
from .reference import CgwGateway, Venue


class SourceSession(models.Model):
    """An iLink order-entry session whose messages a Drop Copy group may copy."""

    sender_comp_id = models.CharField("SenderCompID", max_length=9)
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="source_sessions")
    environment = models.CharField(max_length=16, choices=Environment.choices)
    gateway_type = models.CharField(max_length=4, choices=GatewayType.choices)
    cgw_gateway = models.ForeignKey(
        CgwGateway,
        verbose_name="convenience gateway",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="source_sessions",
        help_text="The one iLink convenience gateway a CGW session lives on",
    )
    gfid = models.ForeignKey(Gfid, on_delete=models.PROTECT, related_name="source_sessions", verbose_name="GFID")
    clearing_firm = models.ForeignKey(
        ClearingFirm,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="guaranteed_sessions",
        help_text="The guaranteeing clearing firm (the GFID's by default)",
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "sender_comp_id"],
                name="source_session_unique_per_environment",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(gateway_type=GatewayType.CGW, cgw_gateway__isnull=False)
                    | models.Q(gateway_type=GatewayType.MSGW, cgw_gateway__isnull=True)
                ),
                name="source_session_cgw_gateway_iff_cgw",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sender_comp_id} ({self.venue_id} {self.gateway_type}, {self.get_environment_display()})"


class FrontEndSystem(models.Model):
    """The application consuming drop copy (FIX tags 1603, 1604, 1605).

    An entity's own, or a vendor product (no entity) registered once and usable by every entity.
    """

    entity = models.ForeignKey(
        Entity,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="front_end_systems",
    )
    name = models.CharField(max_length=30)
    version = models.CharField(max_length=10)
    vendor = models.CharField(max_length=10)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        verbose_name = "front-end system"
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "name", "version", "vendor"],
                condition=models.Q(entity__isnull=False),
                name="front_end_system_unique_per_entity",
            ),
            models.UniqueConstraint(
                fields=["name", "version", "vendor"],
                condition=models.Q(entity__isnull=True),
                name="front_end_system_vendor_product_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version} ({self.vendor})"

    @property
    def is_vendor_product(self) -> bool:
        return self.entity_id is None
