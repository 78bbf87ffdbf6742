"""Reference data: venues and their gateway types (R1), iLink CGW gateways with the drop copy
gateway addresses serving them, drop copy market segment gateways, and target port ranges (R7).

Loaded by data migrations; editing them later does not move live targets.
"""

from django.db import models

from dropcopy_admin.choices import Environment, GatewayType


class Venue(models.Model):
    """A Globex trading venue supported on Drop Copy; the code is the key the API uses."""

    code = models.CharField(primary_key=True, max_length=16)
    name = models.CharField(max_length=100)
    offers_cgw = models.BooleanField()
    offers_msgw = models.BooleanField()
    gfid_length = models.PositiveSmallIntegerField(help_text="3, or 5 for BrokerTec")
    clearing_firm_required = models.BooleanField(
        help_text="Whether every GFID and source session needs a guaranteeing clearing firm"
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def offers(self, gateway_type: str) -> bool:
        return {
            GatewayType.CGW: self.offers_cgw,
            GatewayType.MSGW: self.offers_msgw,
        }.get(gateway_type, False)

    @property
    def sender_comp_id_length(self) -> int:
        """Session ID (3) + GFID + fault-tolerance indicator (1), R5."""
        return 3 + self.gfid_length + 1


class CgwGateway(models.Model):
    """An iLink convenience gateway and the drop copy gateway addresses that serve its targets."""

    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="cgw_gateways")
    environment = models.CharField(max_length=16, choices=Environment.choices)
    code = models.CharField(max_length=16)
    primary_ip = models.GenericIPAddressField(protocol="IPv4")
    backup_ip = models.GenericIPAddressField(protocol="IPv4")

    class Meta:
        ordering = ["id"]
        verbose_name = "convenience gateway (iLink CGW)"
        verbose_name_plural = "convenience gateways (iLink CGW)"
        constraints = [
            models.UniqueConstraint(fields=["venue", "environment", "code"], name="cgw_gateway_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.venue_id} {self.code} ({self.get_environment_display()})"


class SegmentGateway(models.Model):
    """A drop copy market segment gateway: every MSGW target of its venue listens on it."""

    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="segment_gateways")
    environment = models.CharField(max_length=16, choices=Environment.choices)
    market_segment = models.PositiveSmallIntegerField()
    primary_ip = models.GenericIPAddressField(protocol="IPv4")
    backup_ip = models.GenericIPAddressField(protocol="IPv4")

    class Meta:
        ordering = ["id"]
        verbose_name = "drop copy market segment gateway"
        constraints = [
            models.UniqueConstraint(
                fields=["venue", "environment", "market_segment"],
                name="segment_gateway_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(market_segment__gte=0, market_segment__lte=99),
                name="segment_gateway_two_digit_segment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.venue_id} segment {self.market_segment:02d} ({self.get_environment_display()})"


class PortRange(models.Model):
    """The ports target sessions of an environment take (every address binds the same range)."""

    environment = models.CharField(max_length=16, choices=Environment.choices, unique=True)
    first_port = models.PositiveIntegerField()
    last_port = models.PositiveIntegerField()

    class Meta:
        ordering = ["environment"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    first_port__gte=1024,
                    last_port__lte=65535,
                    first_port__lte=models.F("last_port"),
                ),
                name="port_range_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_environment_display()} ports {self.first_port}–{self.last_port}"
