"""E-mails waiting to be sent, kept until the mail server has taken them.

A service writes its e-mails here in the transaction that decides them, so a message is lost
neither when the transaction rolls back (it was never decided) nor when the mail server is down
at the commit (it is tried again later, with back-off, until it goes, once).
"""

from django.core.mail import EmailMessage
from django.db import models


class OutgoingEmail(models.Model):
    subject = models.CharField(max_length=998)
    body = models.TextField()
    from_email = models.CharField(max_length=254)
    to = models.JSONField(help_text="The recipients' addresses")
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When the mail server took it; empty until then")
    attempts = models.PositiveIntegerField(default=0, help_text="Failed attempts to send it so far")
    next_attempt_at = models.DateTimeField(help_text="Not tried again before this time")
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "outgoing e-mail"
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=models.Q(sent_at__isnull=True), name="outgoing_email_unsent"
            ),
        ]

    def __str__(self) -> str:
        return self.subject

    def message(self) -> EmailMessage:
        return EmailMessage(subject=self.subject, body=self.body, from_email=self.from_email, to=list(self.to))
