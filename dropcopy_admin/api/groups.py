"""Drop Copy groups and their memberships."""

from decimal import Decimal

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
    TargetSession,
)
from dropcopy_admin.services import groups, memberships
from entitlements import services as entitlement_services
from entitlements.choices import Decision

from .approvals import (
    BulkDecisionSerializer,
    BulkRequestSerializer,
    DecisionSerializer,
    ItemErrorSerializer,
    TargetPreviewRequestSerializer,
    TargetPreviewSerializer,
    bulk_results,
    invisible_id_error,
    membership_not_found,
    require_all_visible,
    target_preview_body,
    visible_by_id,
)
from .common import (
    AwareDateTimeField,
    ErrorSerializer,
    VenueField,
    VenueFirstMixin,
    VisibleIdField,
    VisibleViewSet,
    reject_unchangeable,
)
from .filters import StrictBooleanFilter, visible_choices


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
        help_text="Required for PRODUCTION: the `monthly_fee` of the entity's fee preview (R13); ignored otherwise",
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
    at = AwareDateTimeField(required=False, help_text="Account managers only: a past close time")


class GroupFilter(django_filters.FilterSet):
    entity = django_filters.ModelChoiceFilter(queryset=visible_choices(Entity))
    venue = django_filters.ChoiceFilter(choices=VenueCode.choices)
    environment = django_filters.ChoiceFilter(choices=Environment.choices)
    status = django_filters.ChoiceFilter(choices=GroupStatus.choices)
    front_end_system = django_filters.ModelChoiceFilter(queryset=visible_choices(FrontEndSystem))

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
        "of `entities/{id}/fee-preview/` (400 `invalid` when missing, 409 `fee_changed` when stale, R13) and a "
        "passed certification of its front-end system for its venue (409 `certification_required`, R9).",
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

    @extend_schema(
        request=TargetPreviewRequestSerializer,
        responses={200: TargetPreviewSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
        description="Where each session would land if approved now, and how many targets would open (R6). "
        "Writes nothing. An id the caller may not see is 400 `invalid`; a closed group is 409 `group_closed`.",
    )
    @action(detail=True, methods=["post"], url_path="target-preview")
    def target_preview(self, request, pk=None):
        memberships.membership_require_requester(request.user)
        group = self.get_object()
        ids = self.validated(TargetPreviewRequestSerializer)["source_sessions"]
        found = visible_by_id(request.user, SourceSession, ids)
        require_all_visible(found, ids, field="source_sessions")
        plan = entitlement_services.targets_preview(group=group, sessions=[found[pk] for pk in ids])
        return Response(target_preview_body(plan))


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
        # A second live membership is 409 duplicate_membership (from the service), not a 400 from DRF.
        validators = []
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


class BulkRequestItemSerializer(serializers.Serializer):
    source_session = serializers.IntegerField()
    membership = MembershipSerializer(required=False, help_text="The membership made, when the item succeeded")
    error = ItemErrorSerializer(required=False, help_text="Why the item was refused; nothing was made for it")


class BulkRequestResultsSerializer(serializers.Serializer):
    results = BulkRequestItemSerializer(many=True)


class BulkDecisionItemSerializer(serializers.Serializer):
    id = serializers.IntegerField(required=False, help_text="The membership's id, when the item was refused")
    membership = MembershipSerializer(required=False, help_text="The membership decided, when the item succeeded")
    error = ItemErrorSerializer(required=False, help_text="Why the item was refused; it is unchanged")


class BulkDecisionResultsSerializer(serializers.Serializer):
    results = BulkDecisionItemSerializer(many=True)


class MembershipFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=MembershipStatus.choices)
    auto_approved = StrictBooleanFilter()
    group = django_filters.ModelChoiceFilter(queryset=visible_choices(DropCopyGroup))
    source_session = django_filters.ModelChoiceFilter(queryset=visible_choices(SourceSession))
    target = django_filters.ModelChoiceFilter(queryset=visible_choices(TargetSession))

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
        },
        description="Open a group. A PRODUCTION group needs `confirmed_monthly_fee` equal to the `monthly_fee` "
        "of `entities/{id}/fee-preview/` (400 `invalid` when missing, 409 `fee_changed` when stale, R13) and a "
        "passed certification of its front-end system for its venue (409 `certification_required`, R9).",
    )
    def create(self, request):
        memberships.membership_require_requester(request.user)
        reject_named_target(request.data)
        data = self.validated(MembershipSerializer)
        membership = entitlement_services.membership_request(actor=request.user, **data)
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
        membership = self.get_object()
        membership = memberships.membership_end(actor=request.user, membership=membership)
        return Response(MembershipSerializer(membership).data)

    @extend_schema(
        request=BulkRequestSerializer,
        responses={200: BulkRequestResultsSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
        description="Request many sessions for one group; each item succeeds or fails on its own (R8). "
        "A missing or invisible group is 400 `invalid`, a closed one 409 `group_closed`; a session id "
        "the caller may not see is that item's `invalid` error.",
    )
    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk(self, request):
        memberships.membership_require_requester(request.user)
        reject_named_target(request.data)
        data = self.validated(BulkRequestSerializer)
        ids = data["source_sessions"]
        found = visible_by_id(request.user, SourceSession, ids, related=("gfid", "cgw_gateway"))
        outcomes = entitlement_services.memberships_request(
            actor=request.user, group=data["group"], sessions=[found[pk] for pk in ids if pk in found]
        )
        results = bulk_results(
            ids=ids,
            found=found,
            outcomes=outcomes,
            key="source_session",
            on_missing=invisible_id_error,
            representation=MembershipSerializer().to_representation,
        )
        return Response({"results": results})

    @extend_schema(
        request=BulkDecisionSerializer,
        responses={200: BulkDecisionResultsSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
        description="Approve, reject or revoke many memberships; each item succeeds or fails on its own (R6, R8). "
        "An id the caller may not see is that item's `not_found` error.",
    )
    @action(detail=False, methods=["post"], url_path="bulk-decide")
    def bulk_decide(self, request):
        entitlement_services.decision_require_decider(request.user)
        data = self.validated(BulkDecisionSerializer)
        ids = data["memberships"]
        found = visible_by_id(request.user, Membership, ids)
        outcomes = entitlement_services.memberships_decide(
            actor=request.user,
            memberships=[found[pk] for pk in ids if pk in found],
            decision=data["decision"],
            reason=data["reason"],
        )
        results = bulk_results(
            ids=ids,
            found=found,
            outcomes=outcomes,
            key="id",
            on_missing=membership_not_found,
            representation=MembershipSerializer().to_representation,
        )
        return Response({"results": results})

    def _decide(self, request, decision: str) -> Response:
        entitlement_services.decision_require_decider(request.user)
        membership = self.get_object()
        reason = self.validated(DecisionSerializer)["reason"]
        membership = entitlement_services.membership_decide(
            actor=request.user, membership=membership, decision=decision, reason=reason
        )
        return Response(MembershipSerializer(membership).data)

    @extend_schema(
        request=DecisionSerializer,
        responses={200: MembershipSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
        description="Approve a pending request; its session is placed on a target (R6, R8).",
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, Decision.APPROVE)

    @extend_schema(
        request=DecisionSerializer,
        responses={200: MembershipSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
        description="Reject a pending request, with a reason (R8).",
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, Decision.REJECT)

    @extend_schema(
        request=DecisionSerializer,
        responses={200: MembershipSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
        description="Revoke an approval, with a reason; its target slot is freed (R6, R8).",
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        return self._decide(request, Decision.REVOKE)
