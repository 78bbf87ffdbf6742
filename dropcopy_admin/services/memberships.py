"""Requesting source sessions for a group, and withdrawing or removing them (R2, R4).

Decisions on pending requests (R8) live in ``entitlements``.
"""

from django.db import transaction

from dropcopy_admin import clock, errors
from dropcopy_admin.choices import MembershipStatus, Role
from dropcopy_admin.models import DropCopyGroup, Membership, SourceSession, User

from .audit import Actor, audit_record, snapshot
from .common import require_client_may_write
from .targets import targets_release


def check_session_fits_group(*, group: DropCopyGroup, session: SourceSession) -> None:
    """R2: a group takes only sessions of its venue and environment."""
    if session.venue_id != group.venue_id:
        raise errors.Conflict(
            f"Session {session.sender_comp_id} is a {session.venue_id} session; the group is {group.venue_id}.",
            code="venue_mismatch",
        )
    if session.environment != group.environment:
        raise errors.Conflict(
            f"Session {session.sender_comp_id} is in {session.environment}; the group is in {group.environment}.",
            code="environment_mismatch",
        )


def membership_require_requester(actor: Actor) -> None:
    """Refuse, before any input is read, a role that never requests, withdraws or removes sessions."""
    if isinstance(actor, User) and actor.effective_role not in (Role.ACCOUNT_MANAGER, Role.CLIENT):
        raise errors.PermissionDenied("Only the group's entity or an account manager requests sessions.")


def membership_require_may_request(actor: Actor, group: DropCopyGroup) -> None:
    membership_require_requester(actor)
    require_client_may_write(actor, entity=group.entity, venue_code=group.venue_id)


_ENDING = {
    MembershipStatus.PENDING: (MembershipStatus.WITHDRAWN, "withdraw"),
    MembershipStatus.APPROVED: (MembershipStatus.REMOVED, "remove"),
}


def membership_end(*, actor: Actor, membership: Membership) -> Membership:
    """Withdraw a pending request or remove an approved session (DELETE)."""
    membership_require_may_request(actor, membership.group)
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if membership.status not in _ENDING:
            raise errors.invalid_transition(
                f"This membership is {membership.status}: it can be neither withdrawn nor removed."
            )
        new_status, action = _ENDING[membership.status]
        before = snapshot(membership)
        targets_release(memberships=[membership])
        membership.status = new_status
        membership.target = None
        membership.ended_at = clock.now()
        membership.save(update_fields=["status", "target", "ended_at"])
        audit_record(actor=actor, action=action, instance=membership, before=before)
    return membership
