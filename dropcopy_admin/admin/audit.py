"""The audit trail (R18): read only, newest first."""

import json

from django.contrib import admin
from django.utils.html import format_html

from dropcopy_admin.models import AuditEvent

from .base import ReadOnlyModelAdmin


def _pretty(value) -> str:
    if value is None:
        return "-"
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    list_display = ["at", "actor", "action", "object_type", "object_id", "request_id"]
    list_filter = ["object_type", "action"]
    search_fields = ["actor", "=request_id", "=object_id"]
    date_hierarchy = "at"
    fields = ["at", "actor", "action", "object_type", "object_id", "request_id", "before_json", "after_json"]
    readonly_fields = fields

    @admin.display(description="before")
    def before_json(self, obj):
        return _pretty(obj.before)

    @admin.display(description="after")
    def after_json(self, obj):
        return _pretty(obj.after)
