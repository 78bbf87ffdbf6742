"""Outgoing e-mail: written in the deciding transaction, sent after it, retried until sent.

A service hands its messages to :func:`outgoing_emails_queue` inside its transaction: they are
stored as :class:`OutgoingEmail` rows with that transaction and sent as soon as it commits (work
that is already committed, an after-commit callback, uses :func:`outgoing_emails_send_now`). A
message the mail server does not take (down, refusing) stays unsent and is tried again by the
scheduled :func:`outgoing_emails_send` after a back-off that doubles with each failure, from
``FIRST_RETRY`` up to ``LONGEST_RETRY``, so a dead server is not hammered and the message goes
out once the server is back. A message is marked sent only after the server took it; the row
is locked while it is sent, so two senders never send it twice.
"""

import contextlib
import datetime as dt
import smtplib
from collections.abc import Iterable

from django.core.mail import EmailMessage, get_connection
from django.db import transaction

from dropcopy_admin import after_commit, clock
from dropcopy_admin.models import OutgoingEmail

FIRST_RETRY = dt.timedelta(minutes=1)
LONGEST_RETRY = dt.timedelta(hours=1)
SEND_BATCH_SIZE = 100


def retry_delay(attempts: int) -> dt.timedelta:
    """How long to wait after ``attempts`` failed attempts (1, 2, 4 … minutes, at most an hour)."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def outgoing_emails_queue(messages: Iterable[EmailMessage]) -> list[int]:
    """Store ``messages`` in the caller's transaction and send them once it commits; their ids."""
    with transaction.atomic():
        ids = outgoing_emails_store(messages)
        if ids:
            after_commit.call(outgoing_emails_send, email_ids=ids)
    return ids


def outgoing_emails_send_now(messages: Iterable[EmailMessage]) -> list[int]:
    """Store ``messages`` and send them at once (work already committed: an after-commit callback)."""
    ids = outgoing_emails_store(messages)
    if ids:
        outgoing_emails_send(email_ids=ids)
    return ids


def outgoing_emails_store(messages: Iterable[EmailMessage]) -> list[int]:
    """Store ``messages`` as unsent, due now; their ids."""
    now = clock.now()
    rows = OutgoingEmail.objects.bulk_create(
        OutgoingEmail(
            subject=message.subject,
            body=message.body,
            from_email=message.from_email,
            to=list(message.to),
            created_at=now,
            next_attempt_at=now,
        )
        for message in messages
    )
    return [row.pk for row in rows]


def outgoing_emails_send(*, email_ids: Iterable[int] | None = None) -> int:
    """Send the unsent e-mails that are due (only ``email_ids`` when given); the number sent.

    Rows another sender holds are skipped. Each message is marked sent once the mail server has
    taken it; one it did not take is tried again after :func:`retry_delay`.
    """
    now = clock.now()
    with transaction.atomic():
        due = OutgoingEmail.objects.select_for_update(skip_locked=True).filter(
            sent_at__isnull=True, next_attempt_at__lte=now
        )
        if email_ids is not None:
            due = due.filter(pk__in=list(email_ids))
        rows = list(due.order_by("next_attempt_at", "pk")[:SEND_BATCH_SIZE])
        if not rows:
            return 0
        sent = _send(rows, now=now)
        OutgoingEmail.objects.bulk_update(rows, ["sent_at", "attempts", "next_attempt_at", "last_error"])
    return sent


def _send(rows: list[OutgoingEmail], *, now: dt.datetime) -> int:
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except Exception as error:
        for row in rows:
            _failed(row, error, now=now)
        return 0
    sent = 0
    try:
        for row in rows:
            try:
                connection.send_messages([row.message()])
            except Exception as error:
                _failed(row, error, now=now)
            else:
                row.sent_at = clock.now()
                row.last_error = ""
                sent += 1
    finally:
        # The server going away after it took the messages does not unsend them.
        with contextlib.suppress(smtplib.SMTPException, OSError):
            connection.close()
    return sent


def _failed(row: OutgoingEmail, error: Exception, *, now: dt.datetime) -> None:
    row.attempts += 1
    row.next_attempt_at = now + retry_delay(row.attempts)
    row.last_error = f"{type(error).__name__}: {error}"[:500]
