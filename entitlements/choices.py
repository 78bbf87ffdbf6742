from django.db import models


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    REVOKE = "revoke", "Revoke"
