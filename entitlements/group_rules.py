"""Entitlements' rule on group writes, plugged into the core's group services (``apps.py``).

R9: a production group opens — or changes to another front-end system — only when that front-end
system holds a passed certification for the group's venue (``certification_required``). A vendor
product certified once (by any entity) serves every entity.
"""

from dropcopy_admin import errors
from dropcopy_admin.choices import CertificationStatus, Environment
from dropcopy_admin.models import DropCopyGroup, Entity, FrontEndSystem, Venue
from dropcopy_admin.services.group_rules import GroupRule

from .models import Certification


def _require_certified(*, system: FrontEndSystem, venue_id: str, environment: str) -> None:
    if environment != Environment.PRODUCTION:
        return
    passed = Certification.objects.filter(
        front_end_system=system, venue_id=venue_id, status=CertificationStatus.PASSED
    ).exists()
    if not passed:
        raise errors.Conflict(
            f"Front-end system {system.name} {system.version} has no passed certification for {venue_id}; "
            "request an AutoCert+ certification first.",
            code="certification_required",
        )


class CertificationRule(GroupRule):
    def before_open_with_front_end_system(
        self, *, entity: Entity, venue: Venue, environment: str, front_end_system: FrontEndSystem
    ) -> None:
        _require_certified(system=front_end_system, venue_id=venue.pk, environment=environment)

    def before_front_end_system_change(self, *, group: DropCopyGroup, front_end_system: FrontEndSystem) -> None:
        _require_certified(system=front_end_system, venue_id=group.venue_id, environment=group.environment)
