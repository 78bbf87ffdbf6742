"""Target sessions (R6, R7, R17): read only here; the system chooses and opens them on approval."""

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema_field
from rest_framework import mixins, serializers

from dropcopy_admin.choices import Environment, GatewayType, TargetStatus
from dropcopy_admin.models import DropCopyGroup, TargetAddress, TargetSession

from .common import VenueField, VisibleViewSet
from .filters import visible_choices


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


class TargetFilter(django_filters.FilterSet):
    group = django_filters.ModelChoiceFilter(queryset=visible_choices(DropCopyGroup))
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
    http_method_names = ["get", "head", "options"]

    def get_queryset(self):
        live_addresses = TargetAddress.objects.filter(released=False).order_by("id")
        return (
            super()
            .get_queryset()
            .select_related("venue")
            .prefetch_related(Prefetch("addresses", queryset=live_addresses, to_attr="live_addresses"))
        )
