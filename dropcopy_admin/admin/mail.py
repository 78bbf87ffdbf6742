"""Outgoing e-mails, read only: what waits for the mail server, how often it failed and why, so a
dead mail server shows before anyone calls."""

from django.contrib import admin

from dropcopy_admin.models import OutgoingEmail

from .base import ReadOnlyModelAdmin


class _SentFilter(admin.SimpleListFilter):
    title = "sent"
    parameter_name = "sent"

    def lookups(self, request, model_admin):
        return [("no", "Waiting to be sent"), ("yes", "Sent")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(sent_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(sent_at__isnull=False)
        return queryset


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(ReadOnlyModelAdmin):
    list_display = ["subject", "recipients", "created_at", "sent_at", "attempts", "next_attempt_at", "last_error"]
    list_filter = [_SentFilter]
    search_fields = ["subject"]
    date_hierarchy = "created_at"
    fields = ["subject", "recipients", "body", "created_at", "sent_at", "attempts", "next_attempt_at", "last_error"]
    readonly_fields = ["recipients"]

    @admin.display(description="to")
    def recipients(self, obj):
        return ", ".join(obj.to)
