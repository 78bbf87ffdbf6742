"""The running drop copy gateway processes and the addresses each one serves (R19).

Each ``manage.py run_gateway`` process keeps one ``GatewayProcess`` row: written when it starts,
its ``last_seen_at`` refreshed every ``LAST_SEEN_EVERY`` while it runs, ``stopped_at`` set when
it stops cleanly. A process not seen for ``GONE_AFTER`` died without saying so and counts as
not running. After each registry read that opens or closes listeners, the process records the
addresses it now listens on (``ServedAddress``: which target, since when); rows of addresses it
stops serving are deleted. Verification (R16) reads these rows to know when a new target can be
checked. The process row is also where the gateway publishes its live figures, batched with the
``last_seen_at`` write (never a write per message): the addresses it listens on, the client sessions
logged on, the last Heartbeat received, and today's (UTC) ResendRequests and refused logons, with
``published_at`` saying when they were last written. The account managers' dashboard reads them.
"""

import datetime as dt

from django.db import models
from django.db.models import Q

from .targets import TargetAddress, TargetSession

LAST_SEEN_EVERY = dt.timedelta(seconds=2)
GONE_AFTER = dt.timedelta(seconds=15)


class GatewayProcessQuerySet(models.QuerySet):
    def running(self, *, at: dt.datetime) -> "GatewayProcessQuerySet":
        """Processes that have not stopped and were seen within ``GONE_AFTER`` of ``at``."""
        return self.filter(stopped_at__isnull=True, last_seen_at__gte=at - GONE_AFTER)

    def gone(self, *, at: dt.datetime) -> "GatewayProcessQuerySet":
        """Processes that stopped, or were not seen within ``GONE_AFTER`` of ``at``."""
        return self.filter(Q(stopped_at__isnull=False) | Q(last_seen_at__lt=at - GONE_AFTER))


class GatewayProcess(models.Model):
    """One run of the drop copy gateway: where it runs, since when, and when it was last seen."""

    name = models.CharField(max_length=100, help_text="What the process was started as, e.g. run_gateway")
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField("process id")
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField(help_text="Refreshed every few seconds while the process runs")
    stopped_at = models.DateTimeField(null=True, blank=True, help_text="Set when the process stops cleanly")
    listening_addresses = models.PositiveIntegerField(default=0, help_text="Target addresses it listens on")
    sessions_logged_on = models.PositiveIntegerField(default=0, help_text="Client sessions logged on")
    last_heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="When a Heartbeat was last received from a client session"
    )
    resend_requests_today = models.PositiveIntegerField(default=0, help_text="ResendRequests received today (UTC)")
    refused_logons_today = models.PositiveIntegerField(default=0, help_text="Logons refused today (UTC)")
    published_at = models.DateTimeField(null=True, blank=True, help_text="When the process last wrote these figures")

    objects = GatewayProcessQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name_plural = "gateway processes"
        indexes = [
            models.Index(
                fields=["last_seen_at"], condition=Q(stopped_at__isnull=True), name="gateway_process_live_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} on {self.host} (process {self.pid})"


class ServedAddress(models.Model):
    """A target address a gateway process listens on, and since when."""

    process = models.ForeignKey(GatewayProcess, on_delete=models.CASCADE, related_name="served_addresses")
    target = models.ForeignKey(TargetSession, on_delete=models.CASCADE, related_name="served_addresses")
    address = models.ForeignKey(TargetAddress, on_delete=models.CASCADE, related_name="served_by")
    since = models.DateTimeField()

    class Meta:
        ordering = ["target", "address"]
        verbose_name_plural = "served addresses"
        constraints = [
            models.UniqueConstraint(fields=["process", "address"], name="served_address_unique_per_process"),
        ]

    def __str__(self) -> str:
        return f"{self.target.target_comp_id} on {self.address.ip}:{self.address.port}"
