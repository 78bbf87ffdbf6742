"""Portal pages: a client's statements — its lines of closed billing runs, month by month.

Only what ``visible(user, BillingLine)`` gives a client is read: the lines of closed runs whose
entity or bill-to is the client's entity (a draft is never shown). Each month downloads as CSV or
XLSX of exactly those lines (``?month=YYYY-MM&export=csv|xlsx``) — never a run's whole export,
which holds every entity's lines.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.http import require_GET

from dropcopy_admin.api.permissions import page_for
from dropcopy_admin.choices import Role
from dropcopy_admin.selectors.visibility import visible
from dropcopy_admin.tables import Column, Table

from .models import BillingLine

MONTHS_PER_PAGE = 12

client_required = page_for(Role.CLIENT, "Statements are for client administrators.")


def _month_text(month: dt.date) -> str:
    return f"{month:%Y-%m}"


LINE_COLUMNS = [
    Column("month", "Month", lambda line: _month_text(line.run.month), field="run__month"),
    Column("entity", "Entity", lambda line: line.entity.code, field="entity__code"),
    Column("bill_to", "Billed to", lambda line: line.bill_to.code, field="bill_to__code"),
    Column("group", "Group", lambda line: line.group.name if line.group_id else None, field="group__name"),
    Column("venue", "Venue", lambda line: line.group.venue_id if line.group_id else None, field="group__venue"),
    Column("reason", "Charge", lambda line: line.get_reason_display()),
    Column("billable_from", "Billable from", lambda line: line.billable_from),
    Column("billable_to", "Billable to", lambda line: line.billable_to),
    Column(
        "corrects_month",
        "Corrects month",
        lambda line: _month_text(line.corrects_month) if line.corrects_month else None,
    ),
    Column("note", "Note", lambda line: line.note or None),
    Column("amount", "Amount", lambda line: line.amount),
    Column("currency", "Currency", lambda line: line.run.currency, field="run__currency"),
]


def statement_lines(user):
    """The user's lines of closed runs, with what a statement shows (none for a role that reads none)."""
    lines = visible(user, BillingLine)
    if lines is None:
        return BillingLine.objects.none()
    return lines.select_related("run", "entity", "bill_to", "group")


class MonthForm(forms.Form):
    month = forms.ChoiceField(
        required=False,
        label="Month",
        error_messages={"invalid_choice": "Choose one of the months listed: no closed statement has that month."},
    )
    export = forms.ChoiceField(
        required=False,
        choices=[("", ""), ("csv", "CSV"), ("xlsx", "Excel")],
        error_messages={"invalid_choice": "Ask for csv or xlsx."},
    )

    def __init__(self, *args, months: list[dt.date], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["month"].choices = [("", "All months")] + [(_month_text(m), f"{m:%B %Y}") for m in months]


@dataclass
class StatementMonth:
    month: dt.date
    currency: str
    total: Decimal
    line_count: int
    lines: list = field(default_factory=list)

    @property
    def key(self) -> str:
        return _month_text(self.month)

    @property
    def title(self) -> str:
        return f"{self.month:%B %Y}"


@client_required
@require_GET
def statements_page(request):
    lines = statement_lines(request.user)
    summaries = list(
        lines.values("run__month", "run__currency")
        .annotate(total=Sum("amount"), line_count=Count("id"))
        .order_by("-run__month", "run__currency")
    )
    months = sorted({row["run__month"] for row in summaries}, reverse=True)
    form = MonthForm(request.GET, months=months)
    form.is_valid()
    chosen = form.cleaned_data.get("month", "") if "month" not in form.errors else ""
    export = request.GET.get("export")
    if export:
        if form.errors or not chosen:
            problem = " ".join(" ".join(errors) for errors in form.errors.values()) or "Choose a month to download."
            return HttpResponse(
                f"The statement was not made: {problem}", status=400, content_type="text/plain; charset=utf-8"
            )
        month = dt.date.fromisoformat(f"{chosen}-01")
        table = Table(
            {},
            lines.filter(run__month=month),
            LINE_COLUMNS,
            id="statement",
            caption=f"Statement {chosen}",
            default_sort=("id",),
        )
        return table.export_response(form.cleaned_data["export"], f"statement-{request.user.entity.code}-{chosen}")

    shown = [row for row in summaries if not chosen or _month_text(row["run__month"]) == chosen]
    statement_months = [
        StatementMonth(row["run__month"], row["run__currency"], row["total"], row["line_count"]) for row in shown
    ]
    page = Paginator(statement_months, MONTHS_PER_PAGE).get_page(request.GET.get("page"))
    on_page = {month.month for month in page}
    by_month = {(m.month, m.currency): m for m in page}
    for line in lines.filter(run__month__in=on_page).order_by("-run__month", "id"):
        by_month[(line.run.month, line.run.currency)].lines.append(line)
    totals: dict[str, Decimal] = {}
    for month in statement_months:
        totals[month.currency] = totals.get(month.currency, Decimal("0.00")) + month.total
    return render(
        request,
        "portal/statements.html",
        {
            "form": form,
            "chosen": chosen,
            "page": page,
            "totals": sorted(totals.items()),
            "has_any": bool(summaries),
            "url": reverse("portal:statements"),
        },
    )


urlpatterns = [
    path("statements/", statements_page, name="statements"),
]
