"""Celery tasks of entitlements: they take ids, fetch, and call one service."""

from celery import shared_task
from django.conf import settings

from dropcopy_admin.services.audit import SystemActor

from .services.memberships import memberships_expire
from .services.temporary_targets import (
    new_release_targets_warn_expiring,
    temporary_targets_expire,
    temporary_targets_verify_ready,
)


@shared_task
def expire_pending_requests() -> int:
    """Expire pending requests past their lifetime (R8); safe to run twice or concurrently."""
    return memberships_expire(actor=SystemActor("expire_pending_requests"))


@shared_task
def expire_temporary_targets() -> int:
    """Close test and AutoCert+ targets past their expiry, keys revoked (R9, R10); safe to run twice."""
    return temporary_targets_expire(actor=SystemActor("expire_temporary_targets"))


@shared_task
def verify_ready_temporary_targets() -> int:
    """Queue the verification of temporary targets that became ready (R16); the number queued."""
    return temporary_targets_verify_ready(batch_size=settings.DROPCOPY["VERIFY_BATCH_SIZE"])


@shared_task
def warn_expiring_test_targets() -> int:
    """Warn entities of New Release targets expiring within two days (R10), once each; safe to run twice."""
    return new_release_targets_warn_expiring(actor=SystemActor("warn_expiring_test_targets"))
