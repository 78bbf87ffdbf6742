"""Target sessions (R6, R7, R17): read only here; the system chooses and opens them on approval.
Their connectivity (R16): ``POST targets/{id}/verify/`` queues a verification (202, the target),
``GET targets/{id}/checks/`` lists the checks, newest first."""

import django_filters
from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from dropcopy_admin.choices import Environment, GatewayType, TargetStatus
from dropcopy_admin.models import ConnectivityCheck, DropCopyGroup, TargetAddress, TargetSession
from dropcopy_admin.services.verification import target_verify_request
from entitlements.services.temporary_targets import new_release_target_renew

from .common import ErrorSerializer, VenueField, VisibleViewSet
from .filters import VisibleIdFilter
from .permissions import VISIBLE_ROWS, only_account_managers


class TargetAddressSerializer(serializers.ModelSerializer):
    class Meta:
        model = TargetAddress
        fields = ["ip", "role", "market_segment", "target_sub_id"]


class ProvisioningErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()


class TargetSerializer(serializers.ModelSerializer):
    venue = VenueField(read_only=True)
    provisioning_error = serializers.SerializerMethodField(help_text="The last provisioning failure, or null")
    addresses = TargetAddressSerializer(
        many=True,
        read_only=True,
        source="live_addresses",
        help_text="Where the target listens (released addresses of a closed target are left out)",
    )

    class Meta:
        model = TargetSession
        fields = [
            "id",
            "group",
            "entity",
            "venue",
            "gateway_type",
            "target_comp_id",
            "environment",
            "cgw_gateway",
            "port",
            "status",
            "provisioning_error",
            "capacity",
            "used",
            "temporary",
            "ready_at",
            "expires_at",
            "created_at",
            "closed_at",
            "addresses",
        ]
        read_only_fields = fields

    @extend_schema_field(ProvisioningErrorSerializer(allow_null=True))
    def get_provisioning_error(self, target: TargetSession) -> dict | None:
        if not target.provisioning_error_code:
            return None
        return {"code": target.provisioning_error_code, "detail": target.provisioning_error_detail}


class ConnectivityCheckSerializer(serializers.ModelSerializer):
    rtt_ms = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Milliseconds from TestRequest sent to Heartbeat received"
    )

    class Meta:
        model = ConnectivityCheck
        fields = ["id", "ip", "role", "market_segment", "outcome", "stage", "rtt_ms", "checked_at", "detail"]
        read_only_fields = fields


def targets_with_live_addresses(rows=None):
    """Targets with what ``TargetSerializer`` shows, in a constant number of queries."""
    live_addresses = TargetAddress.objects.filter(released=False).order_by("id")
    rows = TargetSession.objects.all() if rows is None else rows
    return rows.select_related("venue").prefetch_related(
        Prefetch("addresses", queryset=live_addresses, to_attr="live_addresses")
    )


class TargetFilter(django_filters.FilterSet):
    group = VisibleIdFilter(DropCopyGroup)
    status = django_filters.ChoiceFilter(choices=TargetStatus.choices)
    gateway_type = django_filters.ChoiceFilter(choices=GatewayType.choices)
    environment = django_filters.ChoiceFilter(choices=Environment.choices)

    class Meta:
        model = TargetSession
        fields = ["group", "status", "gateway_type", "environment"]


class TargetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, VisibleViewSet):
    model = TargetSession
    serializer_class = TargetSerializer
    filterset_class = TargetFilter
    http_method_names = ["get", "post", "head", "options"]
    permission_classes = [
        *VISIBLE_ROWS,
        only_account_managers(
            verify="Only account managers ask for a verification.",
            renew="Only account managers renew a test target.",
        ),
    ]

    def get_queryset(self):
        return targets_with_live_addresses(super().get_queryset())

    @extend_schema(
        operation_id="targets_verify",
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The target's id")],
        request={"application/json": {"type": "object", "description": "No fields; may be empty or `{}`"}},
        responses={202: TargetSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
        description="Queue a connectivity verification of every address of the target; answers 202 "
        "with the target as it is now (its `status` changes when the checks are done). Account managers only; "
        "a client who sees the target gets 403. A pending or closed target, or a temporary target before its "
        "`ready_at`, is 409 `invalid_transition`.",
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def verify(self, request, pk=None):
        target = self.get_object()
        target = target_verify_request(actor=request.user, target=target)
        return Response(self.get_serializer(target).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="targets_checks_list",
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The target's id")],
        responses={200: ConnectivityCheckSerializer(many=True), 404: ErrorSerializer},
        description="The target's connectivity checks, one per address probed, newest first.",
    )
    @action(detail=True, methods=["get"], filter_backends=[], serializer_class=ConnectivityCheckSerializer)
    def checks(self, request, pk=None):
        target = self.get_object()
        rows = ConnectivityCheck.objects.filter(target=target).order_by("-checked_at", "-id")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(ConnectivityCheckSerializer(page, many=True).data)

    @extend_schema(
        operation_id="targets_renew",
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The target's id")],
        request={"application/json": {"type": "object", "description": "No fields; may be empty or `{}`"}},
        responses={200: TargetSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
        description="Renew a live New Release test target before it expires: 7 × 24 hours are added to its "
        "`expires_at`. Account managers only; a client who sees the target gets 403. An expired, closed "
        "or AutoCert+ target is 409 `invalid_transition`.",
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def renew(self, request, pk=None):
        target = self.get_object()
        target = new_release_target_renew(actor=request.user, target=target)
        return Response(self.get_serializer(self.get_queryset().get(pk=target.pk)).data)
