"""The approval workflow (R2, R4, R8): requests (auto-approved in three cases), withdrawal and
removal, approve, reject, revoke, expiry — one by one or in bulk, each item succeeding or failing
on its own.

Who may act on what is decided once per call path: the API refuses a role that never requests or
never decides (``entitlements.api``'s permission classes), before any input is read; these
services decide what depends on the object itself — this client writes for this entity (R3a),
this firm guarantees this session and this user did not make this request (R8).

Every workflow transaction locks the groups it touches (in id order) before their memberships
(in id order), so racing decisions on one group queue up and target capacity holds (R6).
Approvals place sessions on targets in the same transaction; revocations free their slots.
E-mails go out once the transaction commits.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from dropcopy_admin import after_commit, clock, errors
from dropcopy_admin.choices import LIVE_MEMBERSHIP_STATUSES, MembershipStatus, Role
from dropcopy_admin.models import DropCopyGroup, Membership, SourceSession, User
from dropcopy_admin.services.audit import Actor, audit_record, audit_record_changes, audit_record_created, snapshot
from dropcopy_admin.services.common import check_text, require_client_may_write
from dropcopy_admin.services.targets import (
    Placement,
    Plan,
    gateway_key,
    open_targets_by_gateway,
    plan_placements,
    targets_allocate,
    targets_release,
)

from .. import notifications
from ..choices import Decision

REASON_MAX_LENGTH = 500


@dataclass
class Outcome:
    """One item of a (bulk) call: the membership, or the error that refused it."""

    key: int
    membership: Membership | None = None
    error: errors.DomainError | None = None


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


def require_may_request(actor: Actor, group: DropCopyGroup) -> None:
    """R3a: the group's own entity (self-serving) or an account manager requests, withdraws and removes."""
    require_client_may_write(actor, entity=group.entity, venue_code=group.venue_id)


def auto_approval_basis(*, group: DropCopyGroup, session: SourceSession) -> str | None:
    """Why a request needs no clearing-firm decision (R8), or ``None`` when it does."""
    if session.clearing_firm_id is None:
        return "Auto-approved: the session has no guaranteeing clearing firm."
    if session.gfid.entity_id == group.entity_id and session.gfid.admin_control:
        return f"Auto-approved: {group.entity.code} holds admin control of GFID {session.gfid.code}."
    if group.entity.clearing_firm_id is not None and group.entity.clearing_firm_id == session.clearing_firm_id:
        return f"Auto-approved: {group.entity.code} is the clearing firm guaranteeing the session."
    return None


def memberships_request(*, actor: User, group: DropCopyGroup, sessions: list[SourceSession]) -> list[Outcome]:
    """Request ``sessions`` for ``group``; one outcome per session, in order (keyed by session id).

    New requests are ``pending``, or approved at once — with their targets — when R8 says no
    firm needs to decide. Errors about the group answer the whole call; errors about a session
    go into its outcome and create nothing.
    """
    require_may_request(actor, group)
    now = clock.now()
    outcomes = [Outcome(key=session.pk) for session in sessions]
    with transaction.atomic():
        group = DropCopyGroup.objects.select_for_update().select_related("entity").get(pk=group.pk)
        if not group.is_open:
            raise errors.group_closed()
        live = set(
            Membership.objects.filter(
                group=group, source_session__in=[s.pk for s in sessions], status__in=LIVE_MEMBERSHIP_STATUSES
            ).values_list("source_session_id", flat=True)
        )
        accepted: list[tuple[Outcome, SourceSession, str | None]] = []
        for outcome, session in zip(outcomes, sessions, strict=True):
            try:
                check_session_fits_group(group=group, session=session)
                if session.pk in live:
                    raise errors.duplicate_membership(session.sender_comp_id)
            except errors.DomainError as error:
                outcome.error = error
                continue
            live.add(session.pk)
            accepted.append((outcome, session, auto_approval_basis(group=group, session=session)))
        auto_sessions = [session for _, session, basis in accepted if basis]
        allocation = targets_allocate(actor=actor, group=group, sessions=auto_sessions) if auto_sessions else None
        created: list[Membership] = []
        for outcome, session, basis in accepted:
            membership = Membership(
                group=group,
                source_session=session,
                requested_by=actor,
                requested_at=now,
                status=MembershipStatus.PENDING,
            )
            if basis:
                refusal = allocation.refused.get(session.pk)
                if refusal is not None:
                    outcome.error = refusal
                    continue
                membership.status = MembershipStatus.APPROVED
                membership.auto_approved = True
                membership.target = allocation.targets[session.pk]
                membership.decided_at = now
                membership.reason = basis
            outcome.membership = membership
            created.append(membership)
        Membership.objects.bulk_create(created, batch_size=2000)
        audit_record_created(actor=actor, instances=created, action="request")
        pending = [m for m in created if m.status == MembershipStatus.PENDING]
        if pending:
            after_commit.call(notifications.send_pending_digest, membership_ids=[m.pk for m in pending])
    return outcomes


def membership_request(*, actor: User, group: DropCopyGroup, source_session: SourceSession) -> Membership:
    """Request one session; its refusal is raised."""
    (outcome,) = memberships_request(actor=actor, group=group, sessions=[source_session])
    if outcome.error is not None:
        raise outcome.error
    return outcome.membership


_TRANSITIONS = {
    Decision.APPROVE: (MembershipStatus.PENDING, MembershipStatus.APPROVED),
    Decision.REJECT: (MembershipStatus.PENDING, MembershipStatus.REJECTED),
    Decision.REVOKE: (MembershipStatus.APPROVED, MembershipStatus.REVOKED),
}


_ENDING = {
    MembershipStatus.PENDING: (MembershipStatus.WITHDRAWN, "withdraw"),
    MembershipStatus.APPROVED: (MembershipStatus.REMOVED, "remove"),
}


def membership_end(*, actor: Actor, membership: Membership) -> Membership:
    """Withdraw a pending request or remove an approved session (R4; DELETE); its target slot is freed."""
    require_may_request(actor, membership.group)
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


def _check_reason(*, actor: Actor, decision: str, reason: str) -> None:
    if len(reason) > REASON_MAX_LENGTH:
        raise errors.InvalidInput.field("reason", f"At most {REASON_MAX_LENGTH} characters.")
    check_text("reason", reason, multiline=True)
    if decision in (Decision.REJECT, Decision.REVOKE) and not reason.strip():
        raise errors.InvalidInput.field("reason", f"A reason is required to {decision}.")
    if isinstance(actor, User) and actor.is_account_manager and not reason.strip():
        raise errors.InvalidInput.field("reason", "An account manager deciding on a firm's behalf gives a reason.")


def _check_may_decide(*, actor: Actor, membership: Membership, decision: str) -> None:
    """R8: the guaranteeing firm's administrators (or an account manager) decide; never the user who
    asked; the state allows it."""
    if isinstance(actor, User):
        guarantor = (
            actor.effective_role == Role.CLEARING_FIRM
            and actor.clearing_firm_id is not None
            and actor.clearing_firm_id == membership.source_session.clearing_firm_id
        )
        if not actor.is_account_manager and not guarantor:
            raise errors.PermissionDenied("Only the guaranteeing clearing firm's administrators decide this request.")
        if actor.pk == membership.requested_by_id:
            raise errors.Conflict("The user who made a request cannot decide it.", code="self_approval")
    expected, new_status = _TRANSITIONS[decision]
    if membership.status != expected:
        raise errors.invalid_transition(f"This request is {membership.status}: it cannot become {new_status}.")


def _write_decisions(decided: list[Membership], *, status: str, actor: Actor, at, reason: str, ended: bool) -> None:
    """Store one call's decisions: one UPDATE per target, since only the target differs between them.

    (``bulk_update`` of thousands of rows builds a CASE per row and field, which costs seconds.)
    """
    by_target: dict[int | None, list[int]] = defaultdict(list)
    for membership in decided:
        by_target[membership.target_id].append(membership.pk)
    values = {
        "status": status,
        "decided_by": actor if isinstance(actor, User) else None,
        "decided_at": at,
        "reason": reason,
    }
    if ended:
        values["ended_at"] = at
    for target_id, ids in sorted(by_target.items(), key=lambda item: item[0] or 0):
        Membership.objects.filter(pk__in=ids).update(target_id=target_id, **values)


def memberships_decide(
    *, actor: Actor, memberships: list[Membership], decision: str, reason: str = ""
) -> list[Outcome]:
    """Approve, reject or revoke ``memberships``; one outcome per membership, in order (keyed by id).

    Approvals of one group are placed on targets together, with bulk writes; a session that does
    not fit its group's MSGW target stays pending and its outcome says ``capacity_exceeded``; when a
    group needs a new target and no port is free, that group's items say ``pool_exhausted``.
    """
    if decision not in _TRANSITIONS:
        raise errors.InvalidInput.field("decision", f'"{decision}" is not a valid choice.')
    _check_reason(actor=actor, decision=decision, reason=reason)
    new_status = _TRANSITIONS[decision][1]
    now = clock.now()
    outcomes = [Outcome(key=m.pk) for m in memberships]
    with transaction.atomic():
        group_ids = sorted({m.group_id for m in memberships})
        groups = {g.pk: g for g in DropCopyGroup.objects.select_for_update().filter(pk__in=group_ids).order_by("pk")}
        locked = {
            m.pk: m
            for m in Membership.objects.select_for_update(of=("self",))
            .filter(pk__in=[m.pk for m in memberships])
            .select_related("source_session", "source_session__cgw_gateway")
            .order_by("pk")
        }
        by_group: dict[int, list[tuple[Outcome, Membership]]] = defaultdict(list)
        seen: set[int] = set()
        for outcome in outcomes:
            membership = locked[outcome.key]
            try:
                if membership.pk in seen:
                    raise errors.InvalidInput.field("memberships", "A membership is named twice.")
                _check_may_decide(actor=actor, membership=membership, decision=decision)
            except errors.DomainError as error:
                outcome.error = error
                continue
            seen.add(membership.pk)
            by_group[membership.group_id].append((outcome, membership))
        changes: list[tuple[Membership, dict]] = []
        for group_id, items in sorted(by_group.items()):
            if decision == Decision.APPROVE:
                try:
                    # A savepoint per group: a group that needs a port when none is free
                    # (pool_exhausted) leaves nothing half-allocated and fails only its own items.
                    with transaction.atomic():
                        allocation = targets_allocate(
                            actor=actor, group=groups[group_id], sessions=[m.source_session for _, m in items]
                        )
                except errors.DomainError as error:
                    for outcome, _ in items:
                        outcome.error = error
                    continue
            elif decision == Decision.REVOKE:
                targets_release(memberships=[m for _, m in items])
            for outcome, membership in items:
                before = snapshot(membership)
                if decision == Decision.APPROVE:
                    refusal = allocation.refused.get(membership.source_session_id)
                    if refusal is not None:
                        outcome.error = refusal
                        continue
                    membership.target = allocation.targets[membership.source_session_id]
                else:
                    membership.target = None
                if decision == Decision.REVOKE:
                    membership.ended_at = now
                membership.status = new_status
                membership.decided_by = actor if isinstance(actor, User) else None
                membership.decided_at = now
                membership.reason = reason
                outcome.membership = membership
                changes.append((membership, before))
        decided = [membership for membership, _ in changes]
        ended = decision == Decision.REVOKE
        _write_decisions(decided, status=new_status, actor=actor, at=now, reason=reason, ended=ended)
        audit_record_changes(actor=actor, action=decision, changes=changes)
        if decided:
            ids = [m.pk for m in decided]
            after_commit.call(notifications.send_decisions, membership_ids=ids)
    return outcomes


def membership_decide(*, actor: Actor, membership: Membership, decision: str, reason: str = "") -> Membership:
    """Decide one membership; its refusal is raised."""
    (outcome,) = memberships_decide(actor=actor, memberships=[membership], decision=decision, reason=reason)
    if outcome.error is not None:
        raise outcome.error
    return outcome.membership


def memberships_expire(*, actor: Actor) -> int:
    """Expire pending requests older than the configured lifetime (R8); idempotent."""
    cutoff = clock.now() - dt.timedelta(days=settings.DROPCOPY["PENDING_REQUEST_LIFETIME_DAYS"])
    now = clock.now()
    with transaction.atomic():
        stale = list(
            Membership.objects.select_for_update(skip_locked=True)
            .filter(status=MembershipStatus.PENDING, requested_at__lt=cutoff)
            .order_by("pk")
        )
        changes = []
        for membership in stale:
            changes.append((membership, snapshot(membership)))
            membership.status = MembershipStatus.EXPIRED
            membership.ended_at = now
        Membership.objects.bulk_update(stale, ["status", "ended_at"], batch_size=2000)
        audit_record_changes(actor=actor, action="expire", changes=changes)
    return len(stale)


def targets_preview(*, group: DropCopyGroup, sessions: list[SourceSession]) -> Plan:
    """Where each session would land if approved now, and how many targets would open (R6).

    Counts the room left in the group's existing targets; a session that would be refused gets
    its error and opens nothing. A session already pending in the group is placed as if its
    request were approved now; one already approved is a duplicate. Nothing is written or locked.
    A closed group takes no session (``group_closed``).
    """
    if not group.is_open:
        raise errors.group_closed()
    live = set(
        Membership.objects.filter(
            group=group, source_session__in=[s.pk for s in sessions], status=MembershipStatus.APPROVED
        ).values_list("source_session_id", flat=True)
    )
    refused: dict[int, errors.DomainError] = {}
    placeable: list[SourceSession] = []
    for session in sessions:
        try:
            check_session_fits_group(group=group, session=session)
            if session.pk in live:
                raise errors.duplicate_membership(session.sender_comp_id)
        except errors.DomainError as error:
            refused[session.pk] = error
            continue
        live.add(session.pk)
        placeable.append(session)
    targets = open_targets_by_gateway(group=group, keys={gateway_key(s) for s in placeable}, lock=False)
    plan = plan_placements(sessions=placeable, targets=targets)
    planned = {placement.session.pk: placement for placement in plan.placements}
    plan.placements = [
        planned.get(session.pk) or Placement(session=session, error=refused[session.pk]) for session in sessions
    ]
    return plan
