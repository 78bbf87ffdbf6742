"""Nothing lost when a part is down (issue 13), with a real worker on Redis: the broker down during
an approval, a worker child killed with SIGKILL mid-provisioning, the mail server down when a
key-expiry warning is due."""

import datetime as dt
import os
import signal

import pytest
from django.db.models import F

from dropcopy_admin import after_commit, clock
from dropcopy_admin.choices import Role, TargetStatus
from dropcopy_admin.models import AuditEvent, KeyPair, OutgoingEmail, TargetSession
from dropcopy_admin.services.keys import key_pair_create
from dropcopy_admin.services.verification import UNFINISHED_AFTER
from dropcopy_admin.tasks import queue_unfinished_target_work, send_outgoing_emails, warn_expiring_key_pairs
from tests import factories

from .mail_server import MailServer
from .test_celery_provisioning import pending_membership, provisioned, wait_for
from .worker_hooks import pause_key, paused_pid_key

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def approve(api_for, membership, firm_admin) -> TargetSession:
    response = api_for(firm_admin).post(f"/api/v1/memberships/{membership.pk}/approve/", {}, format="json")
    assert response.status_code == 200, response.content
    membership.refresh_from_db()
    return TargetSession.objects.get(pk=membership.target_id)


def succeeded(worker, task_name: str) -> int:
    """How many runs of ``task_name`` the worker has finished."""
    return sum(1 for line in worker.log().splitlines() if f"{task_name}[" in line and "succeeded" in line)


def test_an_approval_while_the_broker_is_down_is_provisioned_once_it_is_back_and_the_sweep_runs(
    celery_worker, broker_down, api_for
):
    membership, firm_admin = pending_membership()

    with broker_down():
        target = approve(api_for, membership, firm_admin)

    target.refresh_from_db()
    assert target.status == TargetStatus.PENDING, "the provisioning task could not be queued"
    assert target.provisioning_requested_at is not None, "but the request is kept on the target"
    assert queue_unfinished_target_work.apply().result == {"provisioning": [], "verification": []}, "not yet due"

    clock.advance(UNFINISHED_AFTER + dt.timedelta(seconds=1))
    requeued = queue_unfinished_target_work.apply().result

    assert requeued["provisioning"] == [target.pk]
    target = wait_for(provisioned(membership), what="the worker to provision the target the sweep queued again")
    assert target.provisioning_requested_at is None
    assert target.addresses.filter(released=False).count() == 2
    assert AuditEvent.objects.filter(object_type="target", object_id=target.pk, action="provision").count() == 1
    assert queue_unfinished_target_work.apply().result["provisioning"] == [], "done: nothing to queue again"


def test_a_worker_child_killed_mid_provisioning_gives_the_task_back_and_nothing_is_allocated_twice(
    celery_worker, api_for
):
    broker = celery_worker.broker()
    broker.set(pause_key(celery_worker.queue), 1)
    membership, firm_admin = pending_membership()

    target = approve(api_for, membership, firm_admin)
    child_pid = int(wait_for(lambda: broker.get(paused_pid_key(celery_worker.queue)), what="provisioning to pause"))
    port = target.port
    assert KeyPair.objects.filter(target=target, is_probe=True).count() == 1, "the probe key step is committed"
    target.refresh_from_db()
    assert target.status == TargetStatus.PENDING

    os.kill(child_pid, signal.SIGKILL)

    target = wait_for(provisioned(membership), what="the task given back to run again in a new child")
    assert "WorkerLostError" in celery_worker.log()
    assert KeyPair.objects.filter(target=target, is_probe=True).count() == 1, "one probe key pair, not two"
    assert list(target.addresses.values_list("port", "released")) == [(port, False), (port, False)]
    assert TargetSession.objects.filter(group=membership.group).count() == 1
    assert AuditEvent.objects.filter(object_type="target", object_id=target.pk, action="provision").count() == 1


def test_a_key_expiry_warning_due_while_the_mail_server_is_down_is_sent_once_it_is_back(celery_worker, api_for):
    entity = factories.EntityFactory()
    factories.UserFactory(role=Role.CLIENT, entity=entity, email="admin@down.example")
    membership, firm_admin = pending_membership()
    membership.group.entity = entity
    membership.group.save(update_fields=["entity"])
    with after_commit.discarded():
        target = approve(api_for, membership, firm_admin)
    account_manager = factories.UserFactory(role=Role.ACCOUNT_MANAGER)
    pair = key_pair_create(actor=account_manager, target=target).key_pair
    KeyPair.objects.filter(pk=pair.pk).update(expires_at=clock.now() + dt.timedelta(days=10))

    warn_expiring_key_pairs.delay()
    email = wait_for(
        lambda: OutgoingEmail.objects.filter(attempts__gte=1).first(), what="the worker to fail to send the warning"
    )

    pair.refresh_from_db()
    assert pair.expiry_warned_at is not None
    assert email.sent_at is None, "not marked sent: the mail server never took it"
    assert email.next_attempt_at > clock.now(), "tried again only after a back-off"
    assert email.last_error
    server = MailServer(celery_worker.smtp_port)
    try:
        # The back-off passes (the worker's clock is real: the retry is brought forward instead).
        OutgoingEmail.objects.filter(pk=email.pk).update(next_attempt_at=F("created_at"))
        send_outgoing_emails.delay()
        wait_for(lambda: server.received, what="the warning to reach the mail server")

        email.refresh_from_db()
        assert email.sent_at is not None
        runs = succeeded(celery_worker, "send_outgoing_emails")
        warn_expiring_key_pairs.delay()
        send_outgoing_emails.delay()
        wait_for(lambda: succeeded(celery_worker, "send_outgoing_emails") > runs, what="the next sending run")
    finally:
        server.stop()
    (message,) = server.received
    assert message["To"] == "admin@down.example"
    assert pair.access_key_id in message.get_payload()
    assert OutgoingEmail.objects.count() == 1, "warned once"
