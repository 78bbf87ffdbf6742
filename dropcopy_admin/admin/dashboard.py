"""The account managers' dashboard (``/admin/dashboard/``): capacity, connectivity, queues, the
live gateway and revenue, each figure a link to the admin list of the rows behind it.

The core's figures come from ``dropcopy_admin.selectors.dashboard``, the revenue panel from
``billing.dashboard`` and the certifications from entitlements' model: this view composes them
(the core's selectors import neither). A constant number of queries whatever the world's size.
"""

from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.template.response import TemplateResponse
from django.urls import reverse

from billing.dashboard import revenue
from billing.services import current_month
from dropcopy_admin import charts, clock
from dropcopy_admin.choices import CertificationStatus
from dropcopy_admin.selectors.dashboard import FULL_SHARE, core_dashboard
from entitlements.models import Certification


def changelist(model_name: str, query: dict | None = None, app_label: str = "dropcopy_admin") -> str:
    """The admin list of ``app_label.model_name`` filtered by ``query``."""
    url = reverse(f"admin:{app_label}_{model_name}_changelist")
    return f"{url}?{urlencode(query)}" if query else url


def certifications_by_status() -> list[dict]:
    """Certifications by status, requested first: one query."""
    counts = dict(Certification.objects.values_list("status").annotate(n=Count("id")).order_by())
    return [
        {
            "label": label,
            "value": counts.get(status, 0),
            "url": changelist("certification", {"status__exact": status}, app_label="entitlements"),
        }
        for status, label in CertificationStatus.choices
    ]


def _links(figures, model_name: str) -> list[dict]:
    return [{"figure": figure, "url": changelist(model_name, figure.query)} for figure in figures]


def capacity_chart(capacity: dict) -> str:
    """Each iLink gateway's CGW load and the fullest MSGW targets', those at 80 % and above apart."""
    labels, loads = [], []
    for row in capacity["gateways"]:
        labels.append(row.label)
        loads.append(row.percent)
    for target in capacity["msgw_targets"]:
        labels.append(f"MSGW {target.target_comp_id}")
        loads.append(round(100 * target.used / target.capacity, 1))
    full = [load if load >= 100 * FULL_SHARE else None for load in loads]
    return charts.bars(
        title="SenderComps used, % of capacity",
        labels=labels,
        series=[
            ("Below 80 %", [None if load >= 100 * FULL_SHARE else load for load in loads]),
            ("80 % and above", full),
        ],
        horizontal=True,
        stacked=True,
        percent=True,
        height=max(240, 26 * len(labels) + 110),
    )


def revenue_chart(money: dict) -> str:
    """The last twelve closed months billed, and this month's forecast beside them."""
    months = money["months"]
    return charts.bars(
        title="Billed per month, closed runs, and this month's forecast (USD)",
        labels=[row.in_words for row in months] + [f"{money['forecast_month'].in_words} (forecast)"],
        series=[
            ("Billed", [row.total for row in months] + [None]),
            ("Forecast", [None] * len(months) + [money["forecast_total"]]),
        ],
        stacked=True,
        colors=[charts.BLUE, charts.GREEN],
        height=360,
    )


def dashboard_context(at) -> dict:
    core = core_dashboard(at=at)
    money = revenue(month=current_month())
    capacity, connectivity, queues, gateway = core["capacity"], core["connectivity"], core["queues"], core["gateway"]
    return {
        "at": at,
        "capacity": capacity,
        "gateway_rows": [(row, changelist("targetsession", row.query)) for row in capacity["gateways"]],
        "msgw_rows": [(target, round(100 * target.used / target.capacity, 1)) for target in capacity["msgw_targets"]],
        "capacity_figures": _links([capacity["full"], capacity["new"], capacity["msgw"]], "targetsession"),
        "capacity_chart": capacity_chart(capacity),
        "connectivity": connectivity,
        "status_figures": _links(connectivity["statuses"], "targetsession"),
        "failing": [(row, changelist("connectivitycheck", row.query)) for row in connectivity["failing"]],
        "failing_url": changelist("connectivitycheck", {"outcome__exact": "failed"}),
        "check_days": [
            {
                "day": day["day"],
                "ok": day["ok"],
                "ok_url": changelist("connectivitycheck", day["ok"].query),
                "failed": day["failed"],
                "failed_url": changelist("connectivitycheck", day["failed"].query),
            }
            for day in connectivity["days"]
        ],
        "checks_chart": charts.bars(
            title="Connectivity checks per day (UTC)",
            labels=[f"{day['day']:%a %d %b}" for day in connectivity["days"]],
            series=[
                ("Passed", [day["ok"].value for day in connectivity["days"]]),
                ("Failed", [day["failed"].value for day in connectivity["days"]]),
            ],
            stacked=True,
        ),
        "queues": queues,
        "pending_url": changelist("membership", queues["pending"].query),
        "pending_figures": _links(queues["pending_buckets"], "membership"),
        "pending_chart": charts.bars(
            title="Pending requests by age",
            labels=[figure.label.split(" (")[0] for figure in queues["pending_buckets"]],
            series=[("Requests", [figure.value for figure in queues["pending_buckets"]])],
        ),
        "oldest_pending": [
            (row, reverse("admin:dropcopy_admin_membership_change", args=[row.pk])) for row in queues["oldest_pending"]
        ],
        "test_target_figures": _links(queues["test_targets"], "targetsession"),
        "certifications": certifications_by_status(),
        "expiring_keys": {
            "figure": queues["expiring_keys"],
            "url": changelist("keypair", queues["expiring_keys"].query),
        },
        "gateway": gateway,
        "gateway_url": changelist("gatewayprocess", gateway["running"].query),
        "revenue": money,
        "revenue_months": [
            (row, changelist("billingline", {"month": row.written}, app_label="billing")) for row in money["months"]
        ],
        "forecast": [(row, changelist("dropcopygroup", row.query)) for row in money["forecast"]],
        "revenue_chart": revenue_chart(money),
    }


def account_managers_dashboard(request):
    """The account managers' landing page in the admin."""
    if not request.user.is_account_manager:
        raise PermissionDenied
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        **dashboard_context(clock.now()),
    }
    return TemplateResponse(request, "admin/dashboard.html", context)
