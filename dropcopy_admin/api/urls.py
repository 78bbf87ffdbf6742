from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from dropcopy_admin.views import ApiDocsView

from .audit import AuditEventViewSet
from .certifications import CertificationViewSet
from .groups import GroupViewSet, MembershipViewSet
from .keys import KeyPairViewSet
from .registry import (
    CgwGatewayViewSet,
    ClearingFirmViewSet,
    EntityViewSet,
    GfidViewSet,
    SegmentGatewayViewSet,
    TokenView,
    UserViewSet,
)
from .sessions import FrontEndSystemViewSet, SourceSessionViewSet
from .targets import TargetViewSet
from .temporary_targets import NewReleaseTargetViewSet


class ApiRouter(DefaultRouter):
    """Routes plus an API root at /api/v1/ listing them; no format suffixes (JSON only)."""

    include_format_suffixes = False


router = ApiRouter()
router.register("users", UserViewSet, basename="user")
router.register("entities", EntityViewSet, basename="entity")
router.register("clearing-firms", ClearingFirmViewSet, basename="clearing-firm")
router.register("gfids", GfidViewSet, basename="gfid")
router.register("cgw-gateways", CgwGatewayViewSet, basename="cgw-gateway")
router.register("segment-gateways", SegmentGatewayViewSet, basename="segment-gateway")
router.register("source-sessions", SourceSessionViewSet, basename="source-session")
router.register("front-end-systems", FrontEndSystemViewSet, basename="front-end-system")
router.register("groups", GroupViewSet, basename="group")
router.register("memberships", MembershipViewSet, basename="membership")
router.register("targets", TargetViewSet, basename="target")
router.register("certifications", CertificationViewSet, basename="certification")
router.register("test-targets", NewReleaseTargetViewSet, basename="test-target")
router.register("audit", AuditEventViewSet, basename="audit")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", ApiDocsView.as_view(url_name="schema"), name="docs"),
    path(
        "targets/<str:id>/keys/",
        KeyPairViewSet.as_view({"get": "list", "post": "create"}),
        name="target-key-list",
    ),
    path(
        "targets/<str:id>/keys/<str:key_id>/revoke/",
        KeyPairViewSet.as_view({"post": "revoke"}),
        name="target-key-revoke",
    ),
    *router.urls,
]
