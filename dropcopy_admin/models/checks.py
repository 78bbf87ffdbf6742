"""Connectivity checks (R16): one row per address probed, a record in its own right."""

from django.db import models

from dropcopy_admin.choices import AddressRole

from .targets import TargetSession


class CheckOutcome(models.TextChoices):
    OK = "ok", "OK"
    FAILED = "failed", "Failed"


class CheckStage(models.TextChoices):
    """The step of the probe that failed (R16); null on a passing check."""

    CONNECT = "connect", "TCP connect"
    LOGON = "logon", "Logon"
    TEST_REQUEST = "test_request", "TestRequest"
    LOGOUT = "logout", "Logout"


class ConnectivityCheck(models.Model):
    target = models.ForeignKey(TargetSession, on_delete=models.CASCADE, related_name="checks")
    ip = models.GenericIPAddressField("IP", protocol="IPv4")
    role = models.CharField(max_length=8, choices=AddressRole.choices)
    market_segment = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=8, choices=CheckOutcome.choices)
    stage = models.CharField(max_length=16, choices=CheckStage.choices, null=True, blank=True)
    rtt_ms = models.FloatField(null=True, blank=True, help_text="TestRequest sent → Heartbeat received")
    logon_ms = models.FloatField(
        "time to logon (ms)", null=True, blank=True, help_text="Connecting → the Logon answered"
    )
    checked_at = models.DateTimeField()
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-checked_at", "-id"]
        indexes = [
            # The latest check per address: DISTINCT ON (ip, market_segment) … ORDER BY -checked_at.
            models.Index(fields=["target", "ip", "market_segment", "-checked_at"], name="check_latest_per_address"),
            # A target's checks, newest first (the API list).
            models.Index(fields=["target", "-checked_at", "-id"], name="check_target_newest"),
            # The checks of the last days, every target's (the account managers' dashboard).
            models.Index(fields=["checked_at"], name="check_checked_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(outcome="ok", stage__isnull=True) | models.Q(outcome="failed", stage__isnull=False),
                name="check_stage_only_when_failed",
            ),
        ]

    def __str__(self) -> str:
        segment = "" if self.market_segment is None else f" segment {self.market_segment:02d}"
        return (
            f"{self.target.target_comp_id} {self.role} {self.ip}{segment}: {self.get_outcome_display()} "
            f"at {self.checked_at:%Y-%m-%d %H:%M:%S} UTC"
        )
