"""Drop Copy groups and their memberships."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from dropcopy_admin import errors
from dropcopy_admin.choices import (
    Environment,
    GroupStatus,
    MembershipStatus,
    MessageFilter,
    VenueCode,
)
from dropcopy_admin.models import (
    DropCopyGroup,
    Entity,
    FrontEndSystem,
    Membership,
    SourceSession,
)
from dropcopy_admin.services import groups, memberships

from .common import (
    AwareDateTimeField,
    ErrorSerializer,
    VenueField,
    VenueFirstMixin,
    VisibleIdField,
    VisibleViewSet,
    reject_unchangeable,
)


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
        write_only=True,
        required=False,
        help_text="Required for PRODUCTION (R13)",
    )
    opened_at = AwareDateTimeField(required=False, help_text="Account managers may give an earlier time")

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


class GroupUpdateSerializer(serializers.ModelSerializer):
    front_end_system = VisibleIdField(FrontEndSystem)
    message_filters = serializers.ListField(
        child=serializers.ChoiceField(choices=MessageFilter.choices),
        max_length=len(MessageFilter.values) * 2,
    )

    class Meta:
        model = DropCopyGroup
        fields = ["name", "message_filters", "front_end_system"]


class GroupCloseSerializer(serializers.Serializer):
    at = AwareDateTimeField(required=False, help_text="Account managers only: a past close time")


class GroupFilter(django_filters.FilterSet):
    venue = django_filters.ChoiceFilter(choices=VenueCode.choices)
    environment = django_filters.ChoiceFilter(choices=Environment.choices)
    status = django_filters.ChoiceFilter(choices=GroupStatus.choices)

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

    @extend_schema(
        responses={
            201: GroupSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
            409: ErrorSerializer,
        }
    )
    def create(self, request):
        data = self.validated(GroupSerializer)
        data.pop("confirmed_monthly_fee", None)  # enforced with the fee preview (R13)
        if "entity" not in data:
            if request.user.entity is None:
                raise errors.InvalidInput.field("entity", "This field is required.")
            data["entity"] = request.user.entity
        group = groups.group_create(actor=request.user, **data)
        return Response(GroupSerializer(group).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=GroupUpdateSerializer,
        responses={200: GroupSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
    )
    def partial_update(self, request, pk=None):
        group = self.get_object()
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
        data = self.validated(GroupCloseSerializer)
        group = groups.group_close(actor=request.user, group=group, at=data.get("at"))
        return Response(GroupSerializer(group).data)


class MembershipSerializer(serializers.ModelSerializer):
    group = VisibleIdField(DropCopyGroup)
    source_session = VisibleIdField(SourceSession)

    class Meta:
        model = Membership
        fields = [
            "id",
            "group",
            "source_session",
            "status",
            "auto_approved",
            "target",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "reason",
        ]
        read_only_fields = [
            "status",
            "auto_approved",
            "target",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "reason",
        ]


class MembershipFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=MembershipStatus.choices)

    class Meta:
        model = Membership
        fields = ["status", "group", "source_session", "target", "auto_approved"]


def reject_named_target(data) -> None:
    """Nobody chooses a target (R6)."""
    if isinstance(data, dict) and "target" in data:
        raise errors.BadRequest(
            "Targets are chosen by the system; a request cannot name one.",
            code="target_not_selectable",
        )


class MembershipViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, VisibleViewSet):
    model = Membership
    serializer_class = MembershipSerializer
    filterset_class = MembershipFilter

    @extend_schema(
        responses={
            201: MembershipSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
            409: ErrorSerializer,
        }
    )
    def create(self, request):
        reject_named_target(request.data)
        data = self.validated(MembershipSerializer)
        membership = memberships.membership_request(actor=request.user, **data)
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={
            200: MembershipSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
        }
    )
    def destroy(self, request, pk=None):
        membership = memberships.membership_end(actor=request.user, membership=self.get_object())
        return Response(MembershipSerializer(membership).data)
