"""Connectivity checks (R16), listed read-only: the rows behind the dashboard's connectivity figures
(checks per day, a failing address's failed checks), filtered by target, address, outcome and time."""

from django.contrib import admin

from dropcopy_admin.models import ConnectivityCheck

from .base import ReadOnlyModelAdmin


@admin.register(ConnectivityCheck)
class ConnectivityCheckAdmin(ReadOnlyModelAdmin):
    list_display = ["target", "ip", "role", "market_segment", "outcome", "stage", "rtt_ms", "checked_at"]
    list_select_related = ["target"]
    list_filter = ["outcome", "stage", "role"]
    search_fields = ["target__target_comp_id", "=ip"]
    fields = readonly_fields = [*list_display, "detail"]
