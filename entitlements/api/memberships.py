"""memberships/ and groups/{id}/target-preview/ (R4, R6, R8): request sessions for a group (one
or in bulk, auto-approved when no firm needs to decide), withdraw or remove them, approve, reject
or revoke requests (one or in bulk), and preview where sessions would land.

The role gate — a role that never requests, or never decides — is this module's permission
classes; what depends on the membership or the group itself is the services' to decide.
"""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from dropcopy_admin import errors
from dropcopy_admin.api.common import ErrorSerializer, VisibleIdField, VisibleViewSet
from dropcopy_admin.api.filters import StrictBooleanFilter, VisibleIdFilter
from dropcopy_admin.api.permissions import VISIBLE_ROWS, roles_gate, roles_may
from dropcopy_admin.choices import MembershipStatus, Role
from dropcopy_admin.models import DropCopyGroup, Membership, SourceSession, TargetSession
from entitlements.choices import Decision
from entitlements.services import memberships as services

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

REQUESTERS = (Role.ACCOUNT_MANAGER, Role.CLIENT)
DECIDERS = (Role.ACCOUNT_MANAGER, Role.CLEARING_FIRM)
ONLY_REQUESTERS = "Only the group's entity or an account manager requests sessions."
ONLY_DECIDERS = "Only clearing firm administrators and account managers decide requests."


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
    group = VisibleIdFilter(DropCopyGroup)
    source_session = VisibleIdFilter(SourceSession)
    target = VisibleIdFilter(TargetSession)

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
    permission_classes = [
        *VISIBLE_ROWS,
        # Withdrawing or removing names a membership: one the caller cannot see stays 404.
        roles_may(REQUESTERS, create=ONLY_REQUESTERS, bulk=ONLY_REQUESTERS, destroy=ONLY_REQUESTERS),
        roles_gate(
            DECIDERS, approve=ONLY_DECIDERS, reject=ONLY_DECIDERS, revoke=ONLY_DECIDERS, bulk_decide=ONLY_DECIDERS
        ),
    ]

    @extend_schema(
        responses={
            201: MembershipSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
            409: ErrorSerializer,
        },
        description="Request a source session for a group. It is approved at once when no clearing firm "
        "needs to decide (no guaranteeing firm, the entity's own GFID with admin control, or the entity is the "
        "guaranteeing firm) and its session placed on a target; otherwise it waits, `pending`, for the "
        "guaranteeing clearing firm. A session already pending or approved in the group is 409 "
        "`duplicate_membership`; another venue or environment is 409 `venue_mismatch` / `environment_mismatch`.",
    )
    def create(self, request):
        reject_named_target(request.data)
        data = self.validated(MembershipSerializer)
        membership = services.membership_request(actor=request.user, **data)
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
        membership = services.membership_end(actor=request.user, membership=membership)
        return Response(MembershipSerializer(membership).data)

    @extend_schema(
        request=BulkRequestSerializer,
        responses={200: BulkRequestResultsSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
        description="Request many sessions for one group; each item succeeds or fails on its own. "
        "A missing or invisible group is 400 `invalid`, a closed one 409 `group_closed`; a session id "
        "the caller may not see is that item's `invalid` error.",
    )
    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk(self, request):
        reject_named_target(request.data)
        data = self.validated(BulkRequestSerializer)
        ids = data["source_sessions"]
        found = visible_by_id(request.user, SourceSession, ids, related=("gfid", "cgw_gateway"))
        outcomes = services.memberships_request(
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
        description="Approve, reject or revoke many memberships; each item succeeds or fails on its own. "
        "An id the caller may not see is that item's `not_found` error.",
    )
    @action(detail=False, methods=["post"], url_path="bulk-decide")
    def bulk_decide(self, request):
        data = self.validated(BulkDecisionSerializer)
        ids = data["memberships"]
        found = visible_by_id(request.user, Membership, ids)
        outcomes = services.memberships_decide(
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
        membership = self.get_object()
        reason = self.validated(DecisionSerializer)["reason"]
        membership = services.membership_decide(
            actor=request.user, membership=membership, decision=decision, reason=reason
        )
        return Response(MembershipSerializer(membership).data)

    @extend_schema(
        request=DecisionSerializer,
        responses={200: MembershipSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
        description="Approve a pending request; its session is placed on a target.",
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, Decision.APPROVE)

    @extend_schema(
        request=DecisionSerializer,
        responses={200: MembershipSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
        description="Reject a pending request, with a reason.",
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, Decision.REJECT)

    @extend_schema(
        request=DecisionSerializer,
        responses={200: MembershipSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
        description="Revoke an approval, with a reason; its target slot is freed.",
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        return self._decide(request, Decision.REVOKE)


class TargetPreviewViewSet(VisibleViewSet):
    """groups/{id}/target-preview/: the group is the core's; placing sessions on it is the workflow's."""

    model = DropCopyGroup
    permission_classes = [*VISIBLE_ROWS, roles_gate(REQUESTERS, target_preview=ONLY_REQUESTERS)]

    @extend_schema(
        request=TargetPreviewRequestSerializer,
        responses={200: TargetPreviewSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
        description="Where each session would land if approved now, and how many targets would open. "
        "Writes nothing. An id the caller may not see is 400 `invalid`; a closed group is 409 `group_closed`.",
    )
    @action(detail=True, methods=["post"], url_path="target-preview")
    def target_preview(self, request, pk=None):
        group = self.get_object()
        ids = self.validated(TargetPreviewRequestSerializer)["source_sessions"]
        found = visible_by_id(request.user, SourceSession, ids)
        require_all_visible(found, ids, field="source_sessions")
        plan = services.targets_preview(group=group, sessions=[found[pk] for pk in ids])
        return Response(target_preview_body(plan))
