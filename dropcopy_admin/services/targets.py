"""Target sessions: allocation (R6), layout (R7) and provisioning (R17).

Allocation runs inside the transaction that approves memberships, after the caller has locked
the group's row, so approvals for one group queue up and capacity holds under concurrency. Per
group and iLink gateway, CGW sessions fill the oldest target with room and a new target opens
only when every one is full; a session is never moved. A group has one MSGW target; sessions past
its capacity are refused with ``capacity_exceeded``. A new target gets its session ID, its port
and its addresses in the same transaction (``pool_exhausted`` when no port is free), so an
approval gets a complete target or fails whole. The same plan answers the target preview.
"""

import datetime as dt
import secrets
import string
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F

from dropcopy_admin import after_commit, clock, errors
from dropcopy_admin.choices import AddressRole, GatewayType, TargetStatus
from dropcopy_admin.models import (
    CgwGateway,
    DropCopyGroup,
    Membership,
    PortRange,
    SegmentGateway,
    SourceSession,
    TargetAddress,
    TargetSession,
)

from .audit import Actor, audit_record, audit_record_created, snapshot
from .common import require_account_manager
from .keys import key_pairs_revoke_for_targets, probe_key_pair_ensure

# The Celery task that provisions one target (R17), queued by name after the commit.
PROVISION_TARGET = "dropcopy_admin.tasks.provision_target"

_TARGET_ID_ALPHABET = string.ascii_uppercase + string.digits
CGW_TARGET_SUB_ID = "G"
LIVE_TARGET_STATUSES = (
    TargetStatus.PENDING,
    TargetStatus.PROVISIONED,
    TargetStatus.VERIFIED,
    TargetStatus.DEGRADED,
    TargetStatus.FAILED,
)


def capacity_of(gateway_type: str) -> int:
    key = "CGW_TARGET_CAPACITY" if gateway_type == GatewayType.CGW else "MSGW_TARGET_CAPACITY"
    return settings.DROPCOPY[key]


def capacity_exceeded(*, limit: int, count: int) -> errors.Conflict:
    return errors.Conflict(
        f"The group's MSGW target is full: it serves at most {limit} MSGW SenderComps and has {count}.",
        code="capacity_exceeded",
    )


# --- planning (shared by allocation and the preview) ----------------------------------------

GatewayKey = tuple[str, int | None]  # (gateway type, CGW gateway id or None)


@dataclass
class Placement:
    """Where one session lands: an existing target, the n-th new target of its gateway, or a refusal."""

    session: SourceSession
    target: TargetSession | None = None
    new_target: tuple[GatewayKey, int] | None = None
    error: errors.DomainError | None = None


@dataclass
class Plan:
    placements: list[Placement] = field(default_factory=list)
    new_targets: dict[GatewayKey, int] = field(default_factory=dict)

    def new_target_count(self, gateway_type: str) -> int:
        return sum(count for (kind, _), count in self.new_targets.items() if kind == gateway_type)


def gateway_key(session: SourceSession) -> GatewayKey:
    return (session.gateway_type, session.cgw_gateway_id if session.gateway_type == GatewayType.CGW else None)


def plan_placements(*, sessions: Iterable[SourceSession], targets: dict[GatewayKey, list[TargetSession]]) -> Plan:
    """Place ``sessions`` on ``targets`` (each gateway's open targets, oldest first) without writing.

    Room left in existing targets is used first; a CGW gateway opens new targets of full capacity
    as needed; the MSGW target (existing or new) refuses what does not fit.
    """
    plan = Plan()
    room = {key: [t.capacity - t.used for t in rows] for key, rows in targets.items()}
    new_room: dict[GatewayKey, list[int]] = defaultdict(list)
    for session in sessions:
        key = gateway_key(session)
        placement = Placement(session=session)
        plan.placements.append(placement)
        existing = targets.get(key, [])
        spare = room.setdefault(key, [t.capacity - t.used for t in existing])
        index = next((i for i, left in enumerate(spare) if left > 0), None)
        if index is not None:
            spare[index] -= 1
            placement.target = existing[index]
            continue
        opened = new_room[key]
        index = next((i for i, left in enumerate(opened) if left > 0), None)
        if index is None and (key[0] == GatewayType.CGW or (not existing and not opened)):
            opened.append(capacity_of(key[0]))
            index = len(opened) - 1
        if index is None:
            limit = capacity_of(GatewayType.MSGW)
            placement.error = capacity_exceeded(limit=limit, count=limit)
            continue
        opened[index] -= 1
        placement.new_target = (key, index)
    plan.new_targets = {key: len(opened) for key, opened in new_room.items() if opened}
    return plan


def open_targets_by_gateway(*, group: DropCopyGroup, keys: Iterable[GatewayKey], lock: bool) -> dict:
    """The group's open targets per gateway, oldest first (locked in id order when ``lock``)."""
    keys = set(keys)
    if not keys:
        return {}
    rows = TargetSession.objects.filter(group=group, status__in=LIVE_TARGET_STATUSES).order_by("id")
    if lock:
        rows = rows.select_for_update()
    by_key: dict[GatewayKey, list[TargetSession]] = defaultdict(list)
    for target in rows:
        key = (target.gateway_type, target.cgw_gateway_id)
        if key in keys:
            by_key[key].append(target)
    return by_key


# --- opening a target: session ID, port, addresses (R7) -------------------------------------


def _new_target_comp_id(environment: str, taken: set[str]) -> str:
    while True:
        candidate = "".join(secrets.choice(_TARGET_ID_ALPHABET) for _ in range(6)) + "N"
        if candidate in taken:
            continue
        taken.add(candidate)
        if not TargetSession.objects.filter(environment=environment, target_comp_id=candidate).exists():
            return candidate


def target_layout(*, venue_id: str, environment: str, gateway_type: str, cgw_gateway: CgwGateway | None) -> list[tuple]:
    """(ip, role, market segment, TargetSubID) of every address a new target listens on."""
    if gateway_type == GatewayType.CGW:
        return [
            (cgw_gateway.primary_ip, AddressRole.PRIMARY, None, CGW_TARGET_SUB_ID),
            (cgw_gateway.backup_ip, AddressRole.BACKUP, None, CGW_TARGET_SUB_ID),
        ]
    layout = []
    segments = SegmentGateway.objects.filter(venue_id=venue_id, environment=environment).order_by("market_segment")
    for segment in segments:
        sub_id = f"{segment.market_segment:02d}"
        layout.append((segment.primary_ip, AddressRole.PRIMARY, segment.market_segment, sub_id))
        layout.append((segment.backup_ip, AddressRole.BACKUP, segment.market_segment, sub_id))
    return layout


def _free_port(*, environment: str, ips: list[str]) -> int:
    """The lowest port of the environment's range that is free on every one of ``ips``.

    Holding the lock on the environment's port range makes allocations of one environment take
    turns, so two never pick the same port; the unique (ip, port) constraint backs this up.
    """
    port_range = PortRange.objects.select_for_update().get(environment=environment)
    taken = set(TargetAddress.objects.filter(ip__in=ips, released=False).values_list("port", flat=True))
    for port in range(port_range.first_port, port_range.last_port + 1):
        if port not in taken:
            return port
    raise errors.Conflict(
        f"No free port in {environment} ({port_range.first_port}-{port_range.last_port}) on the target's addresses.",
        code="pool_exhausted",
    )


def _layout_of(target: TargetSession) -> list[tuple]:
    return target_layout(
        venue_id=target.venue_id,
        environment=target.environment,
        gateway_type=target.gateway_type,
        cgw_gateway=target.cgw_gateway,
    )


def _create_addresses(target: TargetSession, layout: list[tuple]) -> None:
    TargetAddress.objects.bulk_create(
        TargetAddress(target=target, ip=ip, port=target.port, role=role, market_segment=segment, target_sub_id=sub_id)
        for ip, role, segment, sub_id in layout
    )


def target_open(
    *,
    actor: Actor,
    entity_id: int,
    venue_id: str,
    environment: str,
    gateway_type: str,
    cgw_gateway: CgwGateway | None,
    group: DropCopyGroup | None = None,
    temporary: str | None = None,
    ready_at: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
    taken_ids: set[str] | None = None,
) -> TargetSession:
    """Open a complete new target in ``pending`` and queue its provisioning on commit (R7, R17).

    The request is recorded on the target (``provisioning_requested_at``): should the task not
    be queued (the broker down at the commit), the scheduled sweep queues it again.

    Its session ID (none of ``taken_ids``, the ones this transaction already gave), its port from
    the environment's range and its addresses, in the caller's transaction. A group's target
    (R6), or with ``temporary`` a temporary target of the entity in no group (R9, R10).
    """
    now = clock.now()
    target = TargetSession(
        group=group,
        entity_id=entity_id,
        venue_id=venue_id,
        environment=environment,
        gateway_type=gateway_type,
        cgw_gateway=cgw_gateway,
        target_comp_id=_new_target_comp_id(environment, set() if taken_ids is None else taken_ids),
        status=TargetStatus.PENDING,
        capacity=capacity_of(gateway_type),
        used=0,
        temporary=temporary,
        ready_at=ready_at,
        expires_at=expires_at,
        created_at=now,
        provisioning_requested_at=now,
    )
    layout = _layout_of(target)
    target.port = _free_port(environment=environment, ips=[ip for ip, *_ in layout])
    target.save()
    _create_addresses(target, layout)
    audit_record_created(actor=actor, instances=[target], action="open")
    after_commit.queue_task(PROVISION_TARGET, target.pk)
    return target


# --- allocation and release (R6) ------------------------------------------------------------


@dataclass
class Allocation:
    """Targets per session id, refusals per session id, and the targets opened."""

    targets: dict[int, TargetSession] = field(default_factory=dict)
    refused: dict[int, errors.DomainError] = field(default_factory=dict)
    opened: list[TargetSession] = field(default_factory=list)


def targets_allocate(*, actor: Actor, group: DropCopyGroup, sessions: list[SourceSession]) -> Allocation:
    """Place ``sessions``, being approved into ``group``, on targets; open targets as needed.

    Runs inside the approving transaction with the group's row locked by the caller. Targets are
    locked in id order; their ``used`` counts are written in bulk. New targets are queued for
    provisioning when the transaction commits (``target_open``).
    """
    keys = {gateway_key(session) for session in sessions}
    targets = open_targets_by_gateway(group=group, keys=keys, lock=True)
    plan = plan_placements(sessions=sessions, targets=targets)
    allocation = Allocation()
    taken_ids: set[str] = set()
    gateways = {s.cgw_gateway_id: s.cgw_gateway for s in sessions if s.cgw_gateway_id is not None}
    opened: dict[tuple[GatewayKey, int], TargetSession] = {}
    for key, count in sorted(plan.new_targets.items(), key=lambda item: (item[0][0], item[0][1] or 0)):
        for index in range(count):
            target = target_open(
                actor=actor,
                entity_id=group.entity_id,
                venue_id=group.venue_id,
                environment=group.environment,
                gateway_type=key[0],
                cgw_gateway=gateways.get(key[1]),
                group=group,
                taken_ids=taken_ids,
            )
            opened[(key, index)] = target
            allocation.opened.append(target)
    changed: dict[int, TargetSession] = {}
    for placement in plan.placements:
        session_id = placement.session.pk
        if placement.error is not None:
            allocation.refused[session_id] = placement.error
            continue
        target = placement.target if placement.target is not None else opened[placement.new_target]
        target.used += 1
        changed[target.pk] = target
        allocation.targets[session_id] = target
    TargetSession.objects.bulk_update(changed.values(), ["used"])
    return allocation


def targets_release(*, memberships: Iterable[Membership]) -> None:
    """Free the slots of memberships that stop being approved; an emptied target stays (R6)."""
    freed: dict[int, int] = defaultdict(int)
    for membership in memberships:
        if membership.target_id is not None:
            freed[membership.target_id] += 1
    for target_id, count in sorted(freed.items()):
        TargetSession.objects.filter(pk=target_id).update(used=F("used") - count)


def targets_close(*, actor: Actor, targets: Iterable[TargetSession], at) -> None:
    """Close targets, free their ports and revoke their keys, the probe's included (R4); their history stays."""
    targets = list(targets)
    for target in targets:
        before = snapshot(target)
        target.status = TargetStatus.CLOSED
        target.used = 0
        target.closed_at = at
        target.save(update_fields=["status", "used", "closed_at"])
        audit_record(actor=actor, action="close", instance=target, before=before)
        TargetAddress.objects.filter(target=target, released=False).update(released=True)
    key_pairs_revoke_for_targets(actor=actor, targets=targets)


# --- provisioning (R17) ---------------------------------------------------------------------


def target_provision(*, actor: Actor, target_id: int) -> TargetSession:
    """Bring a ``pending`` (or failed) target to ``provisioned``; safe to run twice or after a crash.

    Steps, each in its own transaction and each skipped when already done: make sure the target
    has its port and addresses (they are allocated on approval; re-provisioning after a release
    allocates them again), make sure it has its one live probe key pair (R16; a target provisioned
    before probe keys existed gets one now), then mark it ``provisioned`` and clear any recorded error.
    The last step also settles the request (``provisioning_requested_at``) and, for a ready
    target, records that its first check is asked for (``verification_requested_at``): the task
    queues it, and the scheduled sweep queues it again should it not run.
    """
    with transaction.atomic():
        target = TargetSession.objects.select_for_update(of=("self",)).select_related("cgw_gateway").get(pk=target_id)
        if target.status == TargetStatus.CLOSED:
            if target.provisioning_requested_at is not None:
                target.provisioning_requested_at = None
                target.save(update_fields=["provisioning_requested_at"])
            return target
        if not target.addresses.filter(released=False).exists():
            layout = _layout_of(target)
            target.port = _free_port(environment=target.environment, ips=[ip for ip, *_ in layout])
            target.save(update_fields=["port"])
            _create_addresses(target, layout)
    if probe_key_pair_ensure(actor=actor, target_id=target_id) is None:
        return TargetSession.objects.get(pk=target_id)  # closed meanwhile
    with transaction.atomic():
        target = TargetSession.objects.select_for_update().get(pk=target_id)
        # One UPDATE of the row in this transaction: a second one would make PostgreSQL check the
        # row's foreign keys again (its version is this transaction's own), taking a share lock
        # on the group that an approval holding the group and waiting for this target deadlocks on.
        changed = []
        before = snapshot(target)
        provisioned = target.status in (TargetStatus.PENDING, TargetStatus.FAILED) or target.provisioning_error_code
        if provisioned:
            if target.status in (TargetStatus.PENDING, TargetStatus.FAILED):
                target.status = TargetStatus.PROVISIONED
            target.provisioning_error_code = ""
            target.provisioning_error_detail = ""
            changed += ["status", "provisioning_error_code", "provisioning_error_detail"]
        now = clock.now()
        if target.provisioning_requested_at is not None:
            target.provisioning_requested_at = None
            changed.append("provisioning_requested_at")
        if target.verification_requested_at is None and (target.ready_at is None or target.ready_at <= now):
            target.verification_requested_at = now
            changed.append("verification_requested_at")
        if changed:
            target.save(update_fields=changed)
        if provisioned:
            audit_record(actor=actor, action="provision", instance=target, before=before)
    return target


def target_provision_request(*, actor: Actor, target: TargetSession) -> TargetSession:
    """Queue the provisioning of a live ``target`` once the caller's transaction commits (R17).

    Account managers only; a closed target is ``invalid_transition``. Provisioning is idempotent:
    a pending or failed target becomes ``provisioned``, one already provisioned stays as it is;
    the task writes the audit rows. The request is only recorded (``provisioning_requested_at``),
    for the scheduled sweep to queue it again should the task not be queued.
    """
    require_account_manager(actor, doing="re-provision a target")
    if target.status == TargetStatus.CLOSED:
        raise errors.invalid_transition(f"Target {target.target_comp_id} is closed; it is not provisioned.")
    target.provisioning_requested_at = clock.now()
    TargetSession.objects.filter(pk=target.pk).update(provisioning_requested_at=target.provisioning_requested_at)
    after_commit.queue_task(PROVISION_TARGET, target.pk)
    return target


def target_record_provisioning_error(*, actor: Actor, target_id: int, error: Exception) -> None:
    code = getattr(error, "code", "provisioning_failed")
    detail = str(getattr(error, "detail", error))[:500]
    with transaction.atomic():
        target = TargetSession.objects.select_for_update().get(pk=target_id)
        before = snapshot(target)
        target.provisioning_error_code = code
        target.provisioning_error_detail = detail
        target.save(update_fields=["provisioning_error_code", "provisioning_error_detail"])
        audit_record(actor=actor, action="provisioning_error", instance=target, before=before)
