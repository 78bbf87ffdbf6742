"""Entitlements' routes of REST API v1 (under /api/v1/), included by the project's URLs; the API
root at /api/v1/ lists them with the core's (dropcopy_admin/urls.py)."""

from rest_framework.routers import SimpleRouter

from .certifications import CertificationViewSet
from .memberships import MembershipViewSet, TargetPreviewViewSet
from .temporary_targets import NewReleaseTargetViewSet

router = SimpleRouter()
router.register("certifications", CertificationViewSet, basename="certification")
router.register("test-targets", NewReleaseTargetViewSet, basename="test-target")
router.register("memberships", MembershipViewSet, basename="membership")

# groups/{id}/target-preview/ (group-target-preview): an action on the core's groups, served here;
# a router of its own so that the API root does not list "groups" twice.
group_actions = SimpleRouter()
group_actions.register("groups", TargetPreviewViewSet, basename="group")

urlpatterns = [*router.urls, *group_actions.urls]
