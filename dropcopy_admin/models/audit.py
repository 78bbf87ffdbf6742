"""The audit trail (R18): every change and decision, committed with the change itself."""

import functools

from django.apps import apps
from django.conf import settings
from django.db import models

# The API names objects by their model's name in lower case, except where the contract says
# otherwise (api-contract.md, ``audit/``: ``group``, ``target``).
_OBJECT_TYPE_NAMES = {"dropcopygroup": "group", "targetsession": "target"}


def audit_object_type(instance_or_model) -> str:
    """The ``object_type`` under which the trail records ``instance_or_model``."""
    name = instance_or_model._meta.model_name
    return _OBJECT_TYPE_NAMES.get(name, name)


@functools.cache
def _object_names() -> dict[str, str]:
    """Each ``object_type`` of the trail → the name people know its objects by (the model's verbose name)."""
    return {audit_object_type(model): str(model._meta.verbose_name) for model in apps.get_models()}


class AuditEvent(models.Model):
    actor = models.CharField(max_length=160, help_text="A username, or system:<task> for scheduled work")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(max_length=50)
    object_type = models.CharField(max_length=50)
    object_id = models.BigIntegerField()
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["-at", "-id"], name="audit_newest_first"),
            models.Index(fields=["actor"]),
        ]

    def __str__(self) -> str:
        object_name = _object_names().get(self.object_type, self.object_type)
        action = self.action.replace("_", " ")
        return f"{self.actor}: {action} — {object_name} {self.object_id}, {self.at:%Y-%m-%d %H:%M:%S} UTC"
