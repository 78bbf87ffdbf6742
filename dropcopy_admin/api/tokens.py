"""auth/tokens/: a user's own API tokens, listed, created with a name and a lifetime, and revoked.

Everyone sees and ends only their own tokens (an account manager included); another user's token
is 404 ``not_found``. A new token is shown once, in the creation answer, and never again.
"""

from django.conf import settings
from django.urls import include, path
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from dropcopy_admin import clock
from dropcopy_admin.models import ApiToken
from dropcopy_admin.models.users import ApiTokenStatus
from dropcopy_admin.services import users


class ApiTokenSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()  # active, expired or revoked, now

    class Meta:
        model = ApiToken
        fields = ["id", "name", "status", "created_at", "expires_at", "last_used_at", "revoked_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=ApiTokenStatus.choices))
    def get_status(self, api_token: ApiToken) -> str:
        return api_token.status_at(clock.now())


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    lifetime_days = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=settings.DROPCOPY["API_TOKEN_MAX_LIFETIME_DAYS"],
        help_text=f"Days until the token ends; without it, {settings.DROPCOPY['API_TOKEN_LIFETIME_DAYS']} days.",
    )


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(help_text="The token itself: shown in this answer only, never again.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class ApiTokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    serializer_class = ApiTokenSerializer
    queryset = ApiToken.objects.none()  # each caller's own: get_queryset
    # Ids in ASCII digits, short enough for a bigint; anything else matches no route (404).
    lookup_value_regex = "[0-9]{1,18}"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema is drawn with no caller
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user).order_by("id")

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: ApiTokenCreatedSerializer})
    def create(self, request):
        form = ApiTokenCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        issued = users.api_token_issue(user=request.user, **form.validated_data)
        body = {**ApiTokenSerializer(issued.api_token).data, "token": issued.token}
        # The answer carries the token: no cache or proxy may keep it.
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})

    @extend_schema(responses={200: ApiTokenSerializer})
    def destroy(self, request, pk=None):
        """Revoke the token: it stops working at once; the answer is the token in its new state."""
        api_token = users.api_token_revoke(actor=request.user, api_token=self.get_object())
        return Response(ApiTokenSerializer(api_token).data)


router = SimpleRouter(trailing_slash=True)
router.register("auth/tokens", ApiTokenViewSet, basename="api-token")

urlpatterns = [path("", include(router.urls))]
