"""The portal's routes, under /portal/ with the namespace "portal": each package's pages joined.

Entitlements (requests, approvals, certifications, test targets, security), the core's Request
Center pages (groups, sessions, targets) and billing's statements. It sits above all three, like
the root URLconf, so none of them imports another's pages.
"""

from billing import portal as billing_pages
from entitlements import urls as entitlements_pages

from .portal import groups, sessions, targets

app_name = "portal"

urlpatterns = [
    *entitlements_pages.urlpatterns,
    *groups.urlpatterns,
    *sessions.urlpatterns,
    *targets.urlpatterns,
    *billing_pages.urlpatterns,
]
