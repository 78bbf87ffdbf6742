from celery import shared_task

from dropcopy_admin.services.audit import SystemActor

from .services import memberships_expire


@shared_task
def expire_pending_requests() -> int:
    """Expire pending requests past their lifetime (R8); safe to run twice or concurrently."""
    return memberships_expire(actor=SystemActor("expire_pending_requests"))
