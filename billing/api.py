"""Billing runs over HTTP (R12): list, compute, read, close and export a month's run, and its lines.

Account managers and finance do everything; clients read only the lines of closed runs whose entity
or bill-to is theirs; clearing firms have no access (403 on lists, 404 on single objects). Who sees
what is billing's rules in the one visibility table (``selectors.py``); the views declare their
role checks as permission classes (``dropcopy_admin.api.permissions``).
"""

import datetime as dt

import django_filters
from django.db import models
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from dropcopy_admin.api.common import ErrorSerializer, VisibleIdField
from dropcopy_admin.api.filters import VisibleIdFilter
from dropcopy_admin.api.permissions import role_sees, roles_may
from dropcopy_admin.choices import Role
from dropcopy_admin.errors import NotFound
from dropcopy_admin.models import Entity
from dropcopy_admin.selectors.visibility import visible

from . import exports
from .models import BillingLine, BillingRun
from .months import BillingMonth, NotAMonth
from .selectors import adjustment_lines, run_lines, runs_whose_lines_user_lists
from .services import billing_adjustment_create, billing_run_close, billing_run_compute

FULL_ACCESS = (Role.ACCOUNT_MANAGER, Role.FINANCE)
NO_ADJUSTMENTS = "Your role has no access to billing adjustments."

MONTH_PARAMETER = OpenApiParameter(
    "month", OpenApiTypes.STR, OpenApiParameter.PATH, description="The month billed, `YYYY-MM`"
)


def _yyyy_mm(day: dt.date | None) -> str | None:
    return str(BillingMonth.of(day)) if day is not None else None


class MonthField(serializers.CharField):
    """A month written ``YYYY-MM``, validated as the first day of that month."""

    default_error_messages = {"not_a_month": "Give a month as YYYY-MM."}

    def to_internal_value(self, data) -> dt.date:
        try:
            return BillingMonth.parse(super().to_internal_value(data)).first_day
        except NotAMonth:
            self.fail("not_a_month")


class RunChecksumsSerializer(serializers.Serializer):
    csv = serializers.CharField()
    json = serializers.CharField()
    xlsx = serializers.CharField()


class BillingRunSerializer(serializers.ModelSerializer):
    month = serializers.SerializerMethodField(help_text="The month billed, `YYYY-MM`")
    sha256 = serializers.SerializerMethodField(help_text="SHA-256 of each stored export; null while draft")

    class Meta:
        model = BillingRun
        fields = ["month", "status", "total", "currency", "line_count", "sha256"]
        read_only_fields = fields

    def get_month(self, run: BillingRun) -> str:
        return _yyyy_mm(run.month)

    @extend_schema_field(RunChecksumsSerializer(allow_null=True))
    def get_sha256(self, run: BillingRun) -> dict | None:
        if not run.is_closed:
            return None
        return {"csv": run.csv_sha256, "json": run.json_sha256, "xlsx": run.xlsx_sha256}


class BillingRunCreateSerializer(serializers.Serializer):
    month = MonthField(help_text="The month to compute, `YYYY-MM`")


class BillingLineSerializer(serializers.ModelSerializer):
    corrects_month = serializers.SerializerMethodField(
        help_text="The month an adjustment corrects, `YYYY-MM`; null on a group's line"
    )

    class Meta:
        model = BillingLine
        fields = ["id", "entity", "bill_to", "group", "amount", "reason", "corrects_month", "note"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_corrects_month(self, line: BillingLine) -> str | None:
        return _yyyy_mm(line.corrects_month)


class BillingLineFilter(django_filters.FilterSet):
    entity = VisibleIdFilter(Entity)
    bill_to = VisibleIdFilter(Entity)

    class Meta:
        model = BillingLine
        fields = ["entity", "bill_to"]


class _MonthLookupMixin:
    def month_from_path(self) -> dt.date:
        try:
            return BillingMonth.parse(self.kwargs.get("month")).first_day
        except NotAMonth:
            raise NotFound("No billing run has that month; give it as YYYY-MM.") from None

    def run_from_path(self, runs: models.QuerySet) -> BillingRun:
        month = self.month_from_path()
        run = runs.filter(month=month).first()
        if run is None:
            raise NotFound(f"There is no run for {month:%Y-%m}.")
        return run


class BillingRunViewSet(_MonthLookupMixin, viewsets.GenericViewSet):
    """Account managers and finance only: to others, the list is refused and every run missing."""

    serializer_class = BillingRunSerializer
    queryset = BillingRun.objects.all()
    filter_backends = []
    permission_classes = [
        IsAuthenticated,
        role_sees(BillingRun, refusal="Your role has no access to billing runs.", missing="No such billing run."),
    ]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return BillingRun.objects.none()
        return visible(self.request.user, BillingRun)

    def perform_content_negotiation(self, request, force=False):
        # Exports answer files, not JSON: never refuse them for their Accept header. A method the
        # route does not offer has no action (None): it is answered 405 in JSON like any other.
        is_export = (self.action or "").startswith("export")
        return super().perform_content_negotiation(request, force=force or is_export)

    @extend_schema(operation_id="billing_runs_list", description="Every billing run, newest month first.")
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        operation_id="billing_runs_create",
        request=BillingRunCreateSerializer,
        responses={201: BillingRunSerializer, 200: BillingRunSerializer},
        description="Compute the run of a month (201), or recompute a draft (200). A month that has not "
        "begun is 400 `invalid`; a closed month is 409 `billing_period_closed`.",
    )
    def create(self, request):
        serializer = BillingRunCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = billing_run_compute(actor=request.user, month=serializer.validated_data["month"])
        code = status.HTTP_201_CREATED if run.created else status.HTTP_200_OK
        return Response(BillingRunSerializer(run).data, status=code)

    @extend_schema(operation_id="billing_runs_retrieve", parameters=[MONTH_PARAMETER])
    def retrieve(self, request, month=None):
        return Response(self.get_serializer(self.run_from_path(self.get_queryset())).data)

    @extend_schema(
        operation_id="billing_runs_close",
        parameters=[MONTH_PARAMETER],
        request={"application/json": {"type": "object", "description": "No fields; may be empty or `{}`"}},
        responses={200: BillingRunSerializer},
        description="Close the run of an ended month, storing its exports. A month that has not ended, or a "
        "run already closed, is 409 `invalid_transition`.",
    )
    def close(self, request, month=None):
        run = billing_run_close(actor=request.user, month=self.month_from_path())
        return Response(BillingRunSerializer(run).data)

    def _export(self, fmt: str) -> HttpResponse | StreamingHttpResponse:
        """A closed run's stored bytes; a draft streamed from its lines, so memory stays flat."""
        return exports.run_download(self.run_from_path(self.get_queryset()), fmt)

    @extend_schema(
        operation_id="billing_runs_export_csv",
        parameters=[MONTH_PARAMETER],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The run as CSV")},
        description="The run as CSV (times in America/Chicago); for a closed run, the bytes stored at closing.",
    )
    def export_csv(self, request, month=None):
        return self._export("csv")

    @extend_schema(
        operation_id="billing_runs_export_json",
        parameters=[MONTH_PARAMETER],
        responses={(200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description="The run as JSON")},
        description="The run as JSON (times in America/Chicago); for a closed run, the bytes stored at closing.",
    )
    def export_json(self, request, month=None):
        return self._export("json")

    @extend_schema(
        operation_id="billing_runs_export_xlsx",
        parameters=[MONTH_PARAMETER],
        responses={
            (200, exports.CONTENT_TYPES["xlsx"]): OpenApiResponse(
                OpenApiTypes.BINARY, description="The run as a workbook"
            )
        },
        description="The run as XLSX (times in America/Chicago); for a closed run, the bytes stored at closing.",
    )
    def export_xlsx(self, request, month=None):
        return self._export("xlsx")


class BillingLineViewSet(_MonthLookupMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """A run's lines; clients see only closed runs' lines whose entity or bill-to is theirs."""

    serializer_class = BillingLineSerializer
    filterset_class = BillingLineFilter
    queryset = BillingLine.objects.none()
    permission_classes = [IsAuthenticated, role_sees(BillingLine, refusal="Your role has no access to billing lines.")]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return BillingLine.objects.none()
        user = self.request.user
        return run_lines(user, self.run_from_path(runs_whose_lines_user_lists(user)))

    @extend_schema(
        operation_id="billing_runs_lines_list",
        parameters=[MONTH_PARAMETER],
        responses={200: BillingLineSerializer(many=True), 404: ErrorSerializer},
        description="The run's lines, filtered by `entity` and `bill_to`.",
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class AdjustmentCreateSerializer(serializers.Serializer):
    entity = VisibleIdField(Entity)
    corrects_month = MonthField(help_text="The month corrected, `YYYY-MM`")
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    note = serializers.CharField(max_length=500)


class BillingAdjustmentViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Adjustment lines (R12): account managers and finance only; they go into the current month's run."""

    serializer_class = BillingLineSerializer
    filterset_class = BillingLineFilter
    queryset = BillingLine.objects.none()
    # Every request of the endpoint, its OPTIONS too, is for account managers and finance.
    permission_classes = [
        IsAuthenticated,
        roles_may(FULL_ACCESS, list=NO_ADJUSTMENTS, create=NO_ADJUSTMENTS, metadata=NO_ADJUSTMENTS),
    ]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return BillingLine.objects.none()
        return adjustment_lines(self.request.user)

    @extend_schema(operation_id="billing_adjustments_list", description="Every adjustment line, newest first.")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        operation_id="billing_adjustments_create",
        request=AdjustmentCreateSerializer,
        responses={201: BillingLineSerializer, 400: ErrorSerializer, 403: ErrorSerializer, 409: ErrorSerializer},
        description="Add an adjustment line to the current month's run (created as a draft if missing). "
        "A closed current run is 409 `billing_period_closed`.",
    )
    def create(self, request):
        serializer = AdjustmentCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        line = billing_adjustment_create(actor=request.user, **serializer.validated_data)
        return Response(BillingLineSerializer(line).data, status=status.HTTP_201_CREATED)
