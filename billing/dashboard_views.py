"""Finance's dashboard in the admin (``/admin/billing/dashboard/``): runs by month with their totals
and the change from the month before, the largest bill-to parties of the latest run, adjustments,
each month's status and its downloads. Every figure links to the billing lines behind it."""

from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse

from dropcopy_admin import charts

from .choices import LineReason
from .dashboard import finance
from .months import BillingMonth

EXPORT_FORMATS = {"csv": "CSV", "json": "JSON", "xlsx": "XLSX"}


def lines_url(**query) -> str:
    return f"{reverse('admin:billing_billingline_changelist')}?{urlencode(query)}"


def finance_dashboard(request):
    """The dashboard of whoever may view billing runs (finance, account managers)."""
    if not request.user.has_perm("billing.view_billingrun"):
        raise PermissionDenied
    figures = finance()
    may_export = request.user.has_perm("billing.export_billingrun")
    runs = [
        {
            "run": run,
            "url": reverse("admin:billing_billingrun_change", args=[run.run_id]),
            "lines_url": lines_url(month=run.written),
            "downloads": [
                (label, reverse("admin:billing_billingrun_download", args=[run.run_id, fmt]))
                for fmt, label in EXPORT_FORMATS.items()
            ]
            if may_export
            else [],
        }
        for run in reversed(figures["runs"])
    ]
    latest = figures["latest"]
    context = {
        **admin.site.each_context(request),
        "title": "Billing dashboard",
        "runs": runs,
        "latest": latest,
        "largest": [
            (party, lines_url(month=latest.written, bill_to__id__exact=party.bill_to_id))
            for party in figures["largest"]
        ],
        "adjustments": [
            (line, BillingMonth.of(line.run.month), line.corrects_month and BillingMonth.of(line.corrects_month))
            for line in figures["adjustments"]
        ],
        "adjustment_count": figures["adjustment_count"],
        "adjustment_total": figures["adjustment_total"],
        "adjustments_url": lines_url(reason__exact=LineReason.ADJUSTMENT),
        "runs_url": reverse("admin:billing_billingrun_changelist"),
        "chart": charts.bars(
            title="Billed per month (USD)",
            labels=[run.in_words for run in figures["runs"]],
            series=[("Total", [run.total for run in figures["runs"]])],
        )
        if figures["runs"]
        else None,
    }
    return TemplateResponse(request, "admin/billing/dashboard.html", context)
