"""Users, tokens, entities, clearing firms, GFIDs and the gateways (reference data)."""

import django_filters
from django.contrib.auth.validators import UnicodeUsernameValidator
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import fees
from dropcopy_admin.choices import Environment, Role, VenueCode
from dropcopy_admin.models import (
    CgwGateway,
    ClearingFirm,
    Entity,
    Gfid,
    SegmentGateway,
    User,
)
from dropcopy_admin.services import registry, users

from .common import (
    ErrorSerializer,
    VenueField,
    VenueFirstMixin,
    VisibleIdField,
    VisibleViewSet,
)
from .filters import StrictBooleanFilter, VisibleIdFilter
from .permissions import VISIBLE_ROWS, only_account_managers, roles_may

# --- auth -----------------------------------------------------------------------------------


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class TokenView(APIView):
    """A token for a username and password: a logon, so failed ones count towards the throttle
    (dropcopy_admin/logons.py) like the portal's and the admin's."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: TokenSerializer,
            400: ErrorSerializer,
            429: OpenApiResponse(
                ErrorSerializer,
                description="`throttled`: too many failed logons for this username or from this address; "
                "the `Retry-After` header gives the seconds to wait.",
            ),
        },
        auth=[],
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            token = users.api_token_create(request=request._request, **serializer.validated_data)
        except users.LogonsThrottled as refusal:
            raise Throttled(wait=refusal.retry_after, detail=refusal.detail) from refusal
        # The answer carries the token: no cache or proxy may keep it.
        return Response({"token": token}, headers={"Cache-Control": "no-store"})


# --- users ----------------------------------------------------------------------------------


class UserSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=Role.choices, source="effective_role")
    password = serializers.CharField(
        write_only=True,
        max_length=128,
        trim_whitespace=False,
        style={"input_type": "password"},
    )
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    clearing_firm = VisibleIdField(ClearingFirm, required=False, allow_null=True)
    entity = VisibleIdField(Entity, required=False, allow_null=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "password",
            "email",
            "role",
            "clearing_firm",
            "entity",
        ]
        # A taken username is 409 already_exists (from the service), not a 400 from DRF.
        extra_kwargs = {"username": {"validators": [UnicodeUsernameValidator()]}}


class UserFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=Role.choices)

    class Meta:
        model = User
        fields = ["role", "username"]


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, VisibleViewSet):
    model = User
    serializer_class = UserSerializer
    filterset_class = UserFilter

    def create(self, request):
        data = self.validated(UserSerializer)
        data["role"] = data.pop("effective_role")
        user = users.user_create(actor=request.user, **data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


# --- clearing firms -------------------------------------------------------------------------


class ClearingFirmSerializer(serializers.ModelSerializer):
    code = serializers.CharField(max_length=3)

    class Meta:
        model = ClearingFirm
        fields = ["id", "code", "name"]


class ClearingFirmViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, VisibleViewSet):
    model = ClearingFirm
    serializer_class = ClearingFirmSerializer
    filterset_fields = ["code"]
    permission_classes = [
        *VISIBLE_ROWS,
        only_account_managers(
            create="Only account managers may register clearing firms.",
            partial_update="Only account managers may change clearing firms.",
        ),
    ]

    def create(self, request):
        firm = registry.clearing_firm_create(actor=request.user, **self.validated(ClearingFirmSerializer))
        return Response(ClearingFirmSerializer(firm).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        firm = self.get_object()
        changes = self.validated(ClearingFirmSerializer, partial=True, instance=firm)
        firm = registry.clearing_firm_update(actor=request.user, firm=firm, **changes)
        return Response(ClearingFirmSerializer(firm).data)


# --- entities -------------------------------------------------------------------------------


class EntitySerializer(serializers.ModelSerializer):
    code = serializers.CharField(max_length=20)
    bill_to = VisibleIdField(
        Entity,
        required=False,
        allow_null=True,
        help_text="Entity id; defaults to itself",
    )
    clearing_firm = VisibleIdField(ClearingFirm, required=False, allow_null=True)

    class Meta:
        model = Entity
        fields = ["id", "code", "name", "self_service", "bill_to", "clearing_firm"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["bill_to"] = instance.bill_to_party_id
        return data


class FeePreviewSerializer(serializers.Serializer):
    active_groups = serializers.IntegerField(help_text="The entity's production groups billable this month")
    monthly_fee = serializers.DecimalField(
        max_digits=10, decimal_places=2, help_text="What one more production group would cost this month"
    )
    currency = serializers.CharField()


class EntityFilter(django_filters.FilterSet):
    self_service = StrictBooleanFilter()
    clearing_firm = VisibleIdFilter(ClearingFirm)

    class Meta:
        model = Entity
        fields = ["code", "self_service", "clearing_firm"]


class EntityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, VisibleViewSet):
    model = Entity
    serializer_class = EntitySerializer
    filterset_class = EntityFilter
    permission_classes = [
        *VISIBLE_ROWS,
        only_account_managers(
            create="Only account managers may register entities.",
            partial_update="Only account managers may change entities.",
        ),
        # An entity's billing is for account managers, finance and the entity's own client (the
        # only entity a client sees); a clearing firm sees entities, never what they pay.
        roles_may(
            (Role.ACCOUNT_MANAGER, Role.FINANCE, Role.CLIENT),
            fee_preview="Your role has no access to what entities pay.",
        ),
    ]

    def create(self, request):
        entity = registry.entity_create(actor=request.user, **self.validated(EntitySerializer))
        return Response(EntitySerializer(entity).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        entity = self.get_object()
        changes = self.validated(EntitySerializer, partial=True, instance=entity)
        entity = registry.entity_update(actor=request.user, entity=entity, **changes)
        return Response(EntitySerializer(entity).data)

    @extend_schema(
        responses={200: FeePreviewSerializer, 403: ErrorSerializer, 404: ErrorSerializer},
        description="The entity's production groups billable this Chicago month (closed ones included) and "
        "what one more would cost this month: give `monthly_fee` as `confirmed_monthly_fee` "
        "when creating a PRODUCTION group. For account managers, finance and the entity's own client; "
        "a clearing firm is refused (403 `permission_denied`).",
    )
    @action(detail=True, methods=["get"], url_path="fee-preview")
    def fee_preview(self, request, pk=None):
        preview = fees.fee_preview(self.get_object())
        return Response(FeePreviewSerializer(preview).data)


# --- GFIDs ----------------------------------------------------------------------------------


class GfidSerializer(VenueFirstMixin, serializers.ModelSerializer):
    venue = VenueField()
    code = serializers.CharField(max_length=5)
    entity = VisibleIdField(Entity)
    clearing_firm = VisibleIdField(ClearingFirm, required=False, allow_null=True)

    class Meta:
        model = Gfid
        fields = ["id", "code", "venue", "entity", "clearing_firm", "admin_control"]
        # A code taken on its venue is 409 already_exists (from the service), not a 400 from DRF.
        validators = []


class GfidFilter(django_filters.FilterSet):
    venue = django_filters.ChoiceFilter(choices=VenueCode.choices)
    entity = VisibleIdFilter(Entity)
    clearing_firm = VisibleIdFilter(ClearingFirm)
    admin_control = StrictBooleanFilter()

    class Meta:
        model = Gfid
        fields = ["venue", "code", "entity", "clearing_firm", "admin_control"]


class GfidViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, VisibleViewSet):
    model = Gfid
    serializer_class = GfidSerializer
    filterset_class = GfidFilter
    permission_classes = [
        *VISIBLE_ROWS,
        only_account_managers(
            create="Only account managers may register GFIDs.",
            partial_update="Only account managers may change GFIDs.",
        ),
    ]

    def get_queryset(self):
        return super().get_queryset().select_related("venue")

    def create(self, request):
        gfid = registry.gfid_create(actor=request.user, **self.validated(GfidSerializer))
        return Response(GfidSerializer(gfid).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        gfid = self.get_object()
        changes = self.validated(GfidSerializer, partial=True, instance=gfid)
        gfid = registry.gfid_update(actor=request.user, gfid=gfid, **changes)
        return Response(GfidSerializer(gfid).data)


# --- gateways (reference data, read only) ---------------------------------------------------


class GatewayFilterMixin(django_filters.FilterSet):
    venue = django_filters.ChoiceFilter(choices=VenueCode.choices)
    environment = django_filters.ChoiceFilter(choices=Environment.choices)


class CgwGatewaySerializer(serializers.ModelSerializer):
    venue = VenueField(read_only=True)

    class Meta:
        model = CgwGateway
        fields = ["id", "code", "venue", "environment", "primary_ip", "backup_ip"]


class CgwGatewayFilter(GatewayFilterMixin):
    class Meta:
        model = CgwGateway
        fields = ["venue", "environment", "code"]


class CgwGatewayViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, VisibleViewSet):
    model = CgwGateway
    serializer_class = CgwGatewaySerializer
    filterset_class = CgwGatewayFilter
    http_method_names = ["get", "head", "options"]

    def get_queryset(self):
        return super().get_queryset().select_related("venue")


class SegmentGatewaySerializer(serializers.ModelSerializer):
    venue = VenueField(read_only=True)

    class Meta:
        model = SegmentGateway
        fields = [
            "id",
            "venue",
            "environment",
            "market_segment",
            "primary_ip",
            "backup_ip",
        ]


class SegmentGatewayFilter(GatewayFilterMixin):
    class Meta:
        model = SegmentGateway
        fields = ["venue", "environment", "market_segment"]


class SegmentGatewayViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, VisibleViewSet):
    model = SegmentGateway
    serializer_class = SegmentGatewaySerializer
    filterset_class = SegmentGatewayFilter
    http_method_names = ["get", "head", "options"]

    def get_queryset(self):
        return super().get_queryset().select_related("venue")
