"""Tariffs, monthly billing runs and their lines (R12)."""

from decimal import Decimal

from django.db import models

from dropcopy_admin.models import DropCopyGroup, Entity

from .choices import LineReason, RunStatus


class Tariff(models.Model):
    """The fee schedule in force from ``effective_month`` until the next tariff's month."""

    effective_month = models.DateField(unique=True, help_text="The first day of the first month it applies to")
    free_groups = models.PositiveIntegerField(default=1)
    monthly_fee = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")

    class Meta:
        ordering = ["effective_month"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(effective_month__day=1),
                name="tariff_effective_month_first_day",
            ),
            models.CheckConstraint(condition=models.Q(monthly_fee__gte=0), name="tariff_fee_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.monthly_fee} {self.currency} a month from {self.effective_month:%B %Y}"


class BillingRun(models.Model):
    """One calendar month's bill: a draft until closed, then frozen with its rendered exports."""

    AUDIT_EXCLUDE = ("csv_bytes", "json_bytes", "xlsx_bytes")

    month = models.DateField(unique=True, help_text="The first day of the month billed")
    status = models.CharField(max_length=6, choices=RunStatus.choices, default=RunStatus.DRAFT)
    currency = models.CharField(max_length=3, default="USD")
    total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    line_count = models.PositiveIntegerField(default=0)
    csv_bytes = models.BinaryField(null=True, blank=True)
    json_bytes = models.BinaryField(null=True, blank=True)
    xlsx_bytes = models.BinaryField(null=True, blank=True)
    csv_sha256 = models.CharField(max_length=64, blank=True)
    json_sha256 = models.CharField(max_length=64, blank=True)
    xlsx_sha256 = models.CharField(max_length=64, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-month"]
        permissions = [
            ("close_billingrun", "Can close a billing run"),
            ("export_billingrun", "Can export a billing run"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(month__day=1), name="billing_run_month_first_day"),
            models.CheckConstraint(
                condition=(
                    models.Q(status=RunStatus.DRAFT, closed_at__isnull=True)
                    | models.Q(status=RunStatus.CLOSED, closed_at__isnull=False)
                ),
                name="billing_run_closed_iff_closed_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%B %Y}, {self.get_status_display().lower()}"

    @property
    def is_closed(self) -> bool:
        return self.status == RunStatus.CLOSED


class BillingLine(models.Model):
    """One charge (or free slot, or correction) of a run, billed to a party."""

    run = models.ForeignKey(BillingRun, on_delete=models.CASCADE, related_name="lines")
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="billing_lines")
    bill_to = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="billed_lines")
    group = models.ForeignKey(
        DropCopyGroup,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="billing_lines",
    )
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    reason = models.CharField(max_length=10, choices=LineReason.choices)
    corrects_month = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)
    billable_from = models.DateTimeField(null=True, blank=True)
    billable_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "group"],
                condition=models.Q(group__isnull=False),
                name="billing_line_one_per_group_and_run",
            ),
            models.CheckConstraint(
                condition=models.Q(reason=LineReason.ADJUSTMENT) | models.Q(group__isnull=False),
                name="billing_line_group_unless_adjustment",
            ),
        ]
        indexes = [models.Index(fields=["run", "bill_to"]), models.Index(fields=["run", "entity"])]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} line of {self.amount} (line {self.pk})"
