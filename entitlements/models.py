"""Entitlements' models. Certifications (R9): a front-end system's AutoCert+ run for one venue and
gateway type.

A request opens a temporary AutoCert+ target (environment CERT) owned by the requesting entity;
while it is live the gateway records the five checks the client's application shows on it
(``CertificationCheck``, one row per check, ``passed_at`` empty until shown). An account manager
passes or fails the certification while it is ``requested``; the target is then rescinded.

They moved here from ``dropcopy_admin`` with their tables, constraints and indexes kept
(``db_table``; migrations ``entitlements.0001`` and ``dropcopy_admin.0011`` move them in the
migration state only).
"""

from django.conf import settings
from django.db import models

from dropcopy_admin.choices import CertificationCheckName, CertificationStatus, GatewayType
from dropcopy_admin.models import Entity, FrontEndSystem, TargetSession, Venue


class Certification(models.Model):
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="certifications")
    front_end_system = models.ForeignKey(FrontEndSystem, on_delete=models.PROTECT, related_name="certifications")
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="certifications")
    gateway_type = models.CharField(max_length=4, choices=GatewayType.choices)
    status = models.CharField(max_length=10, choices=CertificationStatus.choices, default=CertificationStatus.REQUESTED)
    target = models.OneToOneField(
        TargetSession,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="certification",
        help_text="The AutoCert+ target of this certification",
    )
    requested_at = models.DateTimeField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=1000, blank=True)

    class Meta:
        db_table = "dropcopy_admin_certification"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["front_end_system", "venue", "gateway_type"],
                condition=models.Q(status=CertificationStatus.REQUESTED),
                name="certification_one_requested_per_system_venue_type",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(status=CertificationStatus.REQUESTED, decided_at__isnull=True)
                    | (~models.Q(status=CertificationStatus.REQUESTED) & models.Q(decided_at__isnull=False))
                ),
                name="certification_decided_iff_not_requested",
            ),
        ]
        indexes = [models.Index(fields=["front_end_system", "venue", "status"], name="certification_passed_lookup")]

    def __str__(self) -> str:
        return f"Certification of {self.front_end_system} on {self.venue_id} {self.gateway_type}"


class CertificationCheck(models.Model):
    """One of the five checks of a certification; ``passed_at`` is set when the gateway sees it."""

    certification = models.ForeignKey(Certification, on_delete=models.CASCADE, related_name="checks")
    name = models.CharField(max_length=20, choices=CertificationCheckName.choices)
    passed_at = models.DateTimeField(null=True, blank=True)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        db_table = "dropcopy_admin_certificationcheck"
        ordering = ["certification_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["certification", "name"], name="certification_check_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_name_display()}: {'shown' if self.passed_at else 'not shown yet'}"
