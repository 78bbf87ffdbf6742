"""Celery tasks of the core domain: they take ids, fetch, and call one service."""

import logging

from celery import shared_task
from django.conf import settings

from dropcopy_admin import after_commit, clock
from dropcopy_admin.choices import TargetStatus
from dropcopy_admin.services.audit import SystemActor
from dropcopy_admin.services.keys import key_pairs_warn_expiring
from dropcopy_admin.services.mail import outgoing_emails_send
from dropcopy_admin.services.targets import target_provision, target_record_provisioning_error
from dropcopy_admin.services.verification import (
    UNFINISHED_AFTER,
    VERIFY_TARGETS,
    targets_queue_reverification,
    targets_queue_unfinished,
    targets_verify,
)

logger = logging.getLogger(__name__)

PROVISIONING = SystemActor("provision_target")
VERIFICATION = SystemActor("verify_targets")


@shared_task(bind=True, max_retries=8, acks_late=True)
def provision_target(self, target_id: int) -> None:
    """Provision one target (R17); failures are recorded on it and retried with back-off."""
    try:
        target = target_provision(actor=PROVISIONING, target_id=target_id)
    except Exception as error:
        # The retry is what gets the target provisioned: it happens even when the error cannot be
        # recorded (the database down as well), which is only logged.
        try:
            target_record_provisioning_error(actor=PROVISIONING, target_id=target_id, error=error)
        except Exception:
            logger.exception("Could not record the provisioning error of target %s; retrying anyway", target_id)
        raise self.retry(exc=error, countdown=min(2**self.request.retries * 5, 600)) from error
    # Then its verification (R16, R17), once what provisioning wrote is committed; a temporary
    # target not ready yet is picked up by the scheduled re-verification after its ready_at.
    if target.status != TargetStatus.CLOSED and (target.ready_at is None or target.ready_at <= clock.now()):
        after_commit.queue_task(VERIFY_TARGETS, [target_id])


@shared_task(acks_late=True)
def verify_targets(target_ids: list[int]) -> dict:
    """Check every address of a batch of targets and record the outcome (R16); safe to run twice."""
    verification = targets_verify(actor=VERIFICATION, target_ids=target_ids)
    return {
        "statuses": verification.statuses,
        "skipped": verification.skipped,
        "checks": verification.checks,
        "not_served": verification.not_served,
    }


@shared_task
def reverify_live_targets() -> int:
    """Queue the verification of every live, ready target in batches (R16); the number queued."""
    return targets_queue_reverification(batch_size=settings.DROPCOPY["VERIFY_BATCH_SIZE"])


@shared_task
def warn_expiring_key_pairs() -> int:
    """Warn entities of key pairs expiring within 30 days (R11), once per pair; safe to run twice."""
    return key_pairs_warn_expiring(actor=SystemActor("warn_expiring_key_pairs"))


@shared_task
def queue_unfinished_target_work() -> dict:
    """Queue again provisioning and checks asked for minutes ago and still not done (the broker
    was down, a task was lost); the ids queued. Safe to run twice: the tasks are idempotent."""
    requeued = targets_queue_unfinished(older_than=UNFINISHED_AFTER, batch_size=settings.DROPCOPY["VERIFY_BATCH_SIZE"])
    return {"provisioning": requeued.provisioning, "verification": requeued.verification}


@shared_task
def send_outgoing_emails() -> int:
    """Send the e-mails not sent yet whose back-off has passed (the mail server was down); the number sent."""
    return outgoing_emails_send()
