"""Key pairs (R11): the Access Key ID and Secret Key that sign a target session's FIX logon.

The Secret Key is stored only as a Fernet token (``secret_encrypted``) and is left out of the
audit trail, the admin and every API read. A target has client key pairs — at most two live,
each expiring 12 months after creation — and one live probe key pair of the system's own (R16),
made by provisioning (R17), never counted, listed or shown.
"""

import datetime as dt

from django.db import models

from dropcopy_admin import clock

from .targets import TargetSession

ACCESS_KEY_ID_LENGTH = 20


class KeyPairQuerySet(models.QuerySet):
    def live(self, at: dt.datetime | None = None) -> "KeyPairQuerySet":
        """Key pairs usable at ``at`` (default now): neither revoked nor expired (a probe's never expires)."""
        at = at or clock.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=at)
        )


class KeyPair(models.Model):
    target = models.ForeignKey(TargetSession, on_delete=models.PROTECT, related_name="key_pairs")
    access_key_id = models.CharField(
        max_length=ACCESS_KEY_ID_LENGTH, unique=True, help_text="20 uppercase letters and digits"
    )
    secret_encrypted = models.TextField(editable=False, help_text="The Secret Key, Fernet-encrypted")
    is_probe = models.BooleanField(
        default=False,
        help_text="The system's probe key pair for connectivity checks, never shown to clients or counted",
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty only for a probe key pair")
    revoked_at = models.DateTimeField(null=True, blank=True)
    expiry_warned_at = models.DateTimeField(
        null=True, blank=True, help_text="When the entity's administrators were warned of the expiry"
    )

    objects = KeyPairQuerySet.as_manager()

    AUDIT_EXCLUDE = ("secret_encrypted",)

    class Meta:
        ordering = ["id"]
        verbose_name = "key pair"
        constraints = [
            models.UniqueConstraint(
                fields=["target"],
                condition=models.Q(is_probe=True, revoked_at__isnull=True),
                name="key_pair_one_live_probe_per_target",
            ),
            models.CheckConstraint(
                condition=models.Q(access_key_id__regex=r"^[A-Z0-9]{20}$"),
                name="key_pair_access_key_id_format",
            ),
            models.CheckConstraint(
                condition=models.Q(is_probe=True) | models.Q(expires_at__isnull=False),
                name="key_pair_client_key_expires",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=models.F("created_at")),
                name="key_pair_expires_after_creation",
            ),
        ]
        indexes = [
            models.Index(fields=["target", "is_probe", "revoked_at"], name="key_pair_target_live"),
            models.Index(
                fields=["expires_at"],
                condition=models.Q(is_probe=False, revoked_at__isnull=True, expiry_warned_at__isnull=True),
                name="key_pair_to_warn",
            ),
        ]

    def __str__(self) -> str:
        kind = "Probe key pair" if self.is_probe else "Key pair"
        return f"{kind} {self.access_key_id} of {self.target.target_comp_id}"

    def is_live(self, at) -> bool:
        """Usable at ``at``: neither revoked nor expired (the rule of ``KeyPair.objects.live``)."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > at)
