"""Choices of the billing package."""

from django.db import models


class RunStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    CLOSED = "closed", "Closed"


class LineReason(models.TextChoices):
    FREE = "free", "Free"
    ADDITIONAL = "additional", "Additional"
    ADJUSTMENT = "adjustment", "Adjustment"
