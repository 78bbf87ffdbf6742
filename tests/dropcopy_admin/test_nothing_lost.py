"""Nothing lost when a part is down (issue 13), in-process: the sweep that queues again the
provisioning and the checks asked for and not done, and e-mails kept until the mail server took
them, retried with back-off. The same with a real worker: tests/integration/test_nothing_lost.py."""

import datetime as dt
import socket

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.test import override_settings

from dropcopy_admin import after_commit, clock
from dropcopy_admin.choices import Role, TargetStatus
from dropcopy_admin.models import AuditEvent, Membership, OutgoingEmail, TargetSession
from dropcopy_admin.services.audit import SystemActor
from dropcopy_admin.services.keys import key_pair_create, key_pairs_warn_expiring
from dropcopy_admin.services.mail import outgoing_emails_send, retry_delay
from dropcopy_admin.services.targets import target_provision, target_provision_request
from dropcopy_admin.services.verification import UNFINISHED_AFTER, target_verify_request, targets_verify
from dropcopy_admin.tasks import queue_unfinished_target_work, send_outgoing_emails
from entitlements import notifications
from tests import factories
from tests.dropcopy_admin.test_provisioning import approved_target

pytestmark = pytest.mark.django_db

SWEEP = SystemActor("test")
A_MOMENT = dt.timedelta(seconds=1)


@pytest.fixture(autouse=True)
def _frozen_clock():
    clock.freeze(clock.now())


def sweep() -> dict:
    return queue_unfinished_target_work.apply().get()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def mail_server_down():
    """Mail by SMTP to a port where nothing listens."""
    return override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=closed_port(),
        EMAIL_TIMEOUT=2,
    )


# --- the sweep ---------------------------------------------------------------------------------


def test_a_target_whose_provisioning_was_never_queued_is_provisioned_by_the_sweep_past_the_bound(
    django_capture_on_commit_callbacks,
):
    with after_commit.discarded():  # the commit queues nothing: as with the broker down
        target = approved_target()
    assert target.status == TargetStatus.PENDING
    assert target.provisioning_requested_at == target.created_at

    clock.advance(UNFINISHED_AFTER - A_MOMENT)
    assert sweep()["provisioning"] == [], "within the bound the queued task may still be on its way"

    clock.advance(2 * A_MOMENT)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep()["provisioning"] == [target.pk]

    target.refresh_from_db()
    # Tasks run in-process here; provisioning chains the first check, which fails: no gateway runs.
    assert target.status == TargetStatus.FAILED
    assert AuditEvent.objects.filter(object_type="target", object_id=target.pk, action="provision").exists()
    assert target.provisioning_requested_at is None
    assert sweep()["provisioning"] == []


def test_a_target_whose_provisioning_keeps_failing_is_queued_again_at_most_once_per_bound():
    with after_commit.discarded():
        target = approved_target()
    TargetSession.objects.filter(pk=target.pk).update(status=TargetStatus.CLOSED)  # the sweep leaves it
    assert sweep()["provisioning"] == []
    TargetSession.objects.filter(pk=target.pk).update(status=TargetStatus.PENDING)
    with after_commit.discarded():
        clock.advance(UNFINISHED_AFTER + A_MOMENT)
        assert sweep()["provisioning"] == [target.pk]
        assert sweep()["provisioning"] == [], "queued again just now"
        clock.advance(UNFINISHED_AFTER + A_MOMENT)
        assert sweep()["provisioning"] == [target.pk]


def test_a_re_provisioning_asked_for_and_never_queued_is_queued_again(account_manager):
    target = approved_target()
    with after_commit.discarded():
        target_provision_request(actor=account_manager, target=target)
    target.refresh_from_db()
    assert target.provisioning_requested_at == clock.now()

    clock.advance(UNFINISHED_AFTER + A_MOMENT)
    with after_commit.discarded():
        assert sweep()["provisioning"] == [target.pk]


def test_a_check_asked_for_and_never_run_is_queued_again_and_settled_when_a_check_runs(account_manager):
    target = approved_target()
    with after_commit.discarded():
        target = target_provision(actor=SWEEP, target_id=target.pk)
    assert target.verification_requested_at == clock.now(), "provisioning asks for the first check"
    targets_verify(actor=SWEEP, target_ids=[target.pk])
    target.refresh_from_db()
    assert target.verification_requested_at is None, "the check ran"

    with after_commit.discarded():  # POST targets/{id}/verify/ with the broker down
        target_verify_request(actor=account_manager, target=target)
    target.refresh_from_db()
    assert target.verification_requested_at == clock.now()
    with after_commit.discarded():
        assert sweep()["verification"] == []
        clock.advance(UNFINISHED_AFTER + A_MOMENT)
        assert sweep()["verification"] == [target.pk]
        assert sweep()["verification"] == []


def test_a_check_asked_for_while_one_runs_stays_asked_for():
    target = approved_target()
    with after_commit.discarded():
        target_provision(actor=SWEEP, target_id=target.pk)
    later = clock.now() + dt.timedelta(minutes=5)
    TargetSession.objects.filter(pk=target.pk).update(verification_requested_at=later)

    targets_verify(actor=SWEEP, target_ids=[target.pk])

    target.refresh_from_db()
    assert target.verification_requested_at == later


# --- e-mails -----------------------------------------------------------------------------------


def expiring_key_pair():
    entity = factories.EntityFactory()
    factories.UserFactory(role=Role.CLIENT, entity=entity, email="admin@warned.example")
    target = approved_target(group=factories.GroupFactory(entity=entity))
    pair = key_pair_create(actor=factories.UserFactory(role=Role.ACCOUNT_MANAGER), target=target).key_pair
    pair.expires_at = clock.now() + dt.timedelta(days=10)
    pair.save(update_fields=["expires_at"])
    return pair


def test_back_off_doubles_from_a_minute_to_an_hour():
    assert [retry_delay(n) for n in (1, 2, 3, 7, 20)] == [
        dt.timedelta(minutes=1),
        dt.timedelta(minutes=2),
        dt.timedelta(minutes=4),
        dt.timedelta(hours=1),
        dt.timedelta(hours=1),
    ]


def test_a_warning_the_mail_server_did_not_take_is_sent_later_once(django_capture_on_commit_callbacks):
    pair = expiring_key_pair()
    with mail_server_down(), django_capture_on_commit_callbacks(execute=True):
        assert key_pairs_warn_expiring(actor=SWEEP) == 1

    (email,) = OutgoingEmail.objects.all()
    assert email.sent_at is None
    assert (email.attempts, email.next_attempt_at) == (1, clock.now() + dt.timedelta(minutes=1))
    assert "ConnectionRefusedError" in email.last_error
    assert mail.outbox == []

    with mail_server_down():
        assert send_outgoing_emails.apply().get() == 0, "the back-off has not passed: not even tried"
        clock.advance(dt.timedelta(minutes=1))
        assert send_outgoing_emails.apply().get() == 0
    email.refresh_from_db()
    assert (email.attempts, email.next_attempt_at) == (2, clock.now() + dt.timedelta(minutes=2))

    clock.advance(dt.timedelta(minutes=2))
    assert send_outgoing_emails.apply().get() == 1, "the mail server is back"
    assert send_outgoing_emails.apply().get() == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert key_pairs_warn_expiring(actor=SWEEP) == 0

    (message,) = mail.outbox
    assert message.to == ["admin@warned.example"]
    assert pair.access_key_id in message.body
    email.refresh_from_db()
    assert email.sent_at == clock.now()


def test_the_warning_is_sent_at_the_commit_when_the_mail_server_takes_it(django_capture_on_commit_callbacks):
    expiring_key_pair()
    with django_capture_on_commit_callbacks(execute=True):
        key_pairs_warn_expiring(actor=SWEEP)

    assert len(mail.outbox) == 1
    assert OutgoingEmail.objects.get().sent_at == clock.now()
    assert outgoing_emails_send() == 0


def test_a_rolled_back_warning_leaves_no_e_mail():
    expiring_key_pair()

    class RolledBack(Exception):
        pass

    with pytest.raises(RolledBack), transaction.atomic():
        key_pairs_warn_expiring(actor=SWEEP)
        raise RolledBack

    assert not OutgoingEmail.objects.exists()
    assert mail.outbox == []


def test_a_decision_notice_the_mail_server_did_not_take_is_sent_later_once():
    target = approved_target()
    membership = Membership.objects.select_related("requested_by").get(target=target)
    assert membership.requested_by.email

    with mail_server_down():
        notifications.send_decisions(membership_ids=[membership.pk])  # what the approval's commit runs

    assert OutgoingEmail.objects.filter(sent_at__isnull=True, attempts=1).count() >= 1
    clock.advance(dt.timedelta(minutes=1))
    sent = send_outgoing_emails.apply().get()
    assert sent == OutgoingEmail.objects.count() == len(mail.outbox)
    assert send_outgoing_emails.apply().get() == 0
    assert any(membership.requested_by.email in message.to for message in mail.outbox)


def test_the_sweep_and_the_e_mails_run_every_minute():
    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert schedule["dropcopy_admin.tasks.queue_unfinished_target_work"] == 60.0
    assert schedule["dropcopy_admin.tasks.send_outgoing_emails"] == 60.0
