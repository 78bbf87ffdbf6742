"""Drop Copy groups. Their memberships, and the target preview of a group, are the approval
workflow's: ``entitlements.api.memberships``."""

from decimal import Decimal

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from dropcopy_admin import errors
from dropcopy_admin.choices import Environment, GroupStatus, MessageFilter, VenueCode
from dropcopy_admin.models import DropCopyGroup, Entity, FrontEndSystem
from dropcopy_admin.services import groups

from .common import (
    ErrorSerializer,
    StrictDateTimeField,
    VenueField,
    VenueFirstMixin,
    VisibleIdField,
    VisibleViewSet,
    reject_unchangeable,
)
from .filters import VisibleIdFilter


class GroupSerializer(VenueFirstMixin, serializers.ModelSerializer):
    venue = VenueField()
    entity = VisibleIdField(Entity, required=False, help_text="Defaults to the client's own entity")
    environment = serializers.ChoiceField(choices=Environment.choices)
    front_end_system = VisibleIdField(FrontEndSystem)
    message_filters = serializers.ListField(
        child=serializers.ChoiceField(choices=MessageFilter.choices),
        required=False,
        max_length=len(MessageFilter.values) * 2,
        help_text="Default all; fills and trade_busts are always included",
    )
    confirmed_monthly_fee = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0"),
        write_only=True,
        required=False,
        allow_null=True,
        help_text="Required for PRODUCTION: the `monthly_fee` of the entity's fee preview; ignored otherwise",
    )
    opened_at = StrictDateTimeField(required=False, help_text="Account managers may give an earlier time")

    class Meta:
        model = DropCopyGroup
        fields = [
            "id",
            "entity",
            "name",
            "venue",
            "environment",
            "front_end_system",
            "message_filters",
            "confirmed_monthly_fee",
            "status",
            "opened_at",
            "closed_at",
        ]
        read_only_fields = ["status", "closed_at"]
        # A taken name is 409 already_exists (from the service, R3), not a 400 from DRF.
        validators = []


class GroupUpdateSerializer(serializers.ModelSerializer):
    front_end_system = VisibleIdField(FrontEndSystem)
    message_filters = serializers.ListField(
        child=serializers.ChoiceField(choices=MessageFilter.choices),
        max_length=len(MessageFilter.values) * 2,
    )

    class Meta:
        model = DropCopyGroup
        fields = ["name", "message_filters", "front_end_system"]
        validators = []


class GroupCloseSerializer(serializers.Serializer):
    at = StrictDateTimeField(required=False, help_text="Account managers only: a past close time")


class GroupFilter(django_filters.FilterSet):
    entity = VisibleIdFilter(Entity)
    venue = django_filters.ChoiceFilter(choices=VenueCode.choices)
    environment = django_filters.ChoiceFilter(choices=Environment.choices)
    status = django_filters.ChoiceFilter(choices=GroupStatus.choices)
    front_end_system = VisibleIdFilter(FrontEndSystem)

    class Meta:
        model = DropCopyGroup
        fields = ["entity", "venue", "environment", "status", "front_end_system"]


_UNCHANGEABLE_GROUP_FIELDS = (
    "entity",
    "venue",
    "environment",
    "status",
    "opened_at",
    "closed_at",
)


class GroupViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, VisibleViewSet):
    model = DropCopyGroup
    serializer_class = GroupSerializer
    filterset_class = GroupFilter

    def get_queryset(self):
        return super().get_queryset().select_related("venue")

    @extend_schema(
        responses={
            201: GroupSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
            409: ErrorSerializer,
        },
        description="Open a group. A PRODUCTION group needs `confirmed_monthly_fee` equal to the `monthly_fee` "
        "of `entities/{id}/fee-preview/` (400 `invalid` when missing, 409 `fee_changed` when stale) and a "
        "passed certification of its front-end system for its venue (409 `certification_required`).",
    )
    def create(self, request):
        groups.group_require_writer(request.user)
        data = self.validated(GroupSerializer)
        if "entity" not in data:
            if request.user.entity is None:
                raise errors.InvalidInput.field("entity", "This field is required.")
            data["entity"] = request.user.entity
        data.setdefault("confirmed_monthly_fee", None)
        group = groups.group_create(actor=request.user, **data)
        return Response(GroupSerializer(group).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=GroupUpdateSerializer,
        responses={200: GroupSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
    )
    def partial_update(self, request, pk=None):
        group = self.get_object()
        groups.group_require_writer(request.user, group=group)
        if isinstance(request.data, dict) and request.data.get("venue") is not None:
            VenueField().to_internal_value(request.data["venue"])
        reject_unchangeable(request.data, _UNCHANGEABLE_GROUP_FIELDS)
        changes = self.validated(GroupUpdateSerializer, partial=True, instance=group)
        group = groups.group_update(actor=request.user, group=group, **changes)
        return Response(GroupSerializer(group).data)

    @extend_schema(
        request=GroupCloseSerializer,
        responses={200: GroupSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
    )
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        group = self.get_object()
        groups.group_require_writer(request.user, group=group)
        data = self.validated(GroupCloseSerializer)
        group = groups.group_close(actor=request.user, group=group, at=data.get("at"))
        return Response(GroupSerializer(group).data)
