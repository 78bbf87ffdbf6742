"""Celery tasks of the core domain: they take ids, fetch, and call one service."""

from celery import shared_task

from dropcopy_admin.services.audit import SystemActor
from dropcopy_admin.services.keys import key_pairs_warn_expiring
from dropcopy_admin.services.targets import target_provision, target_record_provisioning_error

PROVISIONING = SystemActor("provision_target")


@shared_task(bind=True, max_retries=8, acks_late=True)
def provision_target(self, target_id: int) -> None:
    """Provision one target (R17); failures are recorded on it and retried with back-off."""
    try:
        target_provision(actor=PROVISIONING, target_id=target_id)
    except Exception as error:
        target_record_provisioning_error(actor=PROVISIONING, target_id=target_id, error=error)
        raise self.retry(exc=error, countdown=min(2**self.request.retries * 5, 600)) from error


@shared_task
def warn_expiring_key_pairs() -> int:
    """Warn entities of key pairs expiring within 30 days (R11), once per pair; safe to run twice."""
    return key_pairs_warn_expiring(actor=SystemActor("warn_expiring_key_pairs"))
