"""Users and their roles. Superusers are account managers; the rest hold one scoped role."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models

from dropcopy_admin.choices import Role

from .parties import ClearingFirm, Entity


class DropCopyUserManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.ACCOUNT_MANAGER)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    role = models.CharField(max_length=20, choices=Role.choices)
    clearing_firm = models.ForeignKey(
        ClearingFirm,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    entity = models.ForeignKey(Entity, null=True, blank=True, on_delete=models.PROTECT, related_name="users")
    # When a password-reset mail last went to this user: the next waits (DROPCOPY PASSWORD_RESET_MAIL_INTERVAL).
    password_reset_mailed_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = DropCopyUserManager()

    AUDIT_EXCLUDE = ("password",)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="user_role_known"),
            models.CheckConstraint(
                condition=~models.Q(role=Role.ACCOUNT_MANAGER) | models.Q(is_superuser=True),
                name="user_account_manager_is_superuser",
            ),
            models.CheckConstraint(
                condition=~models.Q(role=Role.CLEARING_FIRM) | models.Q(clearing_firm__isnull=False),
                name="user_clearing_firm_role_has_firm",
            ),
            models.CheckConstraint(
                condition=~models.Q(role=Role.CLIENT) | models.Q(entity__isnull=False),
                name="user_client_role_has_entity",
            ),
        ]

    @property
    def effective_role(self) -> str:
        return Role.ACCOUNT_MANAGER if self.is_superuser else self.role

    @property
    def is_account_manager(self) -> bool:
        return self.is_active and self.is_superuser


class ApiTokenStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class ApiToken(models.Model):
    """An API token; only its SHA-256 digest is stored, so a database read reveals no token.

    A token works until ``expires_at`` or until it is revoked (by its owner, or by a change of its
    owner's password), whichever comes first.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    AUDIT_EXCLUDE = ("digest",)

    class Meta:
        ordering = ["id"]
        verbose_name = "API token"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")), name="api_token_expires_after_creation"
            ),
        ]

    def __str__(self) -> str:
        return f"API token of {self.user.username}, created {self.created_at:%Y-%m-%d}"

    def status_at(self, at) -> ApiTokenStatus:
        if self.revoked_at is not None:
            return ApiTokenStatus.REVOKED
        return ApiTokenStatus.ACTIVE if at < self.expires_at else ApiTokenStatus.EXPIRED

    def works_at(self, at) -> bool:
        """Whether the token authenticates at ``at``: not revoked, not expired, its owner active."""
        return self.revoked_at is None and at < self.expires_at and self.user.is_active
