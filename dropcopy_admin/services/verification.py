"""Connectivity verification of targets (R16): probe every address, store the checks, set the status.

``targets_verify`` checks a batch of targets in four steps: read what to probe (live addresses
and the live probe key of each verifiable target); make sure a running gateway process serves
each address (``ServedAddress``, written by the gateway, one query for the whole batch) — a
target not checked since it was provisioned waits for that, bounded by
``DROPCOPY["VERIFY_WAIT_FOR_GATEWAY_SECONDS"]``, because the gateway opens a new target's
listeners on its next registry read; probe every served address concurrently outside any
transaction (``verification.runner``), an address no running gateway serves failing at the
``gateway`` stage without a probe; then in one transaction lock the targets in id order, store
every check with one bulk insert and set each target's status:

- ``verified`` when every address passes;
- ``degraded`` when every primary passes but some backup fails;
- ``failed`` otherwise.

A target closed while it was probed is left alone. Check rows are records in their own right
(R18); the audit trail records a target's status change, once per target.

A target is verifiable when it is provisioned (its probe key exists), not closed and ready
(``ready_at`` empty or past, R10): before that ``target_verify_request`` answers
``invalid_transition`` and a batch skips it.
"""

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from dropcopy_admin import after_commit, clock, errors
from dropcopy_admin.choices import AddressRole, TargetStatus
from dropcopy_admin.copying import copy_rows
from dropcopy_admin.models import (
    CheckOutcome,
    CheckStage,
    ConnectivityCheck,
    GatewayProcess,
    KeyPair,
    ServedAddress,
    TargetAddress,
    TargetSession,
)
from dropcopy_admin.selectors.keys import key_pair_secret
from dropcopy_admin.verification.probe import ProbeAddress, ProbeCredentials, ProbeResult
from dropcopy_admin.verification.runner import ProbeJob, run_probes

from .audit import Actor, audit_record_changes, snapshot
from .targets import PROVISION_TARGET

# The Celery task that verifies a batch of targets (R16), queued by name after the commit.
VERIFY_TARGETS = "dropcopy_admin.tasks.verify_targets"

VERIFIABLE_STATUSES = (TargetStatus.PROVISIONED, TargetStatus.VERIFIED, TargetStatus.DEGRADED, TargetStatus.FAILED)
# The contract knows four stages: an address no gateway serves cannot be connected to, and the
# detail says why in words.
NOT_SERVED_STAGE = CheckStage.CONNECT
NOT_SERVED = "No running gateway serves this target"
NOT_SERVED_ON_THIS_ADDRESS = "No running gateway serves this target on this address"
GATEWAY_POLL_SECONDS = 0.2
# Provisioning or a check asked for this long ago and not done is queued again by the sweep.
UNFINISHED_AFTER = dt.timedelta(minutes=2)


@dataclass(frozen=True)
class Verification:
    """What one batch did: each verified target's new status, the targets skipped, and the targets
    with an address no running gateway served."""

    statuses: dict[int, str]
    skipped: list[int]
    checks: int
    not_served: list[int]


def verifiable_targets(*, at=None):
    """Targets a verification may check now: provisioned or checked before, not closed, ready."""
    at = at or clock.now()
    return TargetSession.objects.filter(status__in=VERIFIABLE_STATUSES).filter(
        Q(ready_at__isnull=True) | Q(ready_at__lte=at)
    )


def status_from_results(results: Iterable[ProbeResult]) -> str:
    """``verified``, ``degraded`` or ``failed`` from the checks of one target's addresses (R16)."""
    results = list(results)
    if results and all(result.ok for result in results):
        return TargetStatus.VERIFIED
    primaries = [result for result in results if result.address.role == AddressRole.PRIMARY]
    if primaries and all(result.ok for result in primaries):
        return TargetStatus.DEGRADED
    return TargetStatus.FAILED


def _jobs_for(target_ids: Sequence[int], at) -> tuple[list[ProbeJob], list[int]]:
    """A probe job per live address of each verifiable target with a live probe key (its oldest),
    in the order of the targets and of their addresses; and the targets skipped. Three queries,
    rows read as tuples (a batch is hundreds of targets)."""
    comp_ids = dict(verifiable_targets(at=at).filter(pk__in=target_ids).values_list("pk", "target_comp_id"))
    credentials: dict[int, ProbeCredentials] = {}
    probe_keys = (
        KeyPair.objects.filter(is_probe=True, target_id__in=comp_ids)
        .live(at)
        .only("target_id", "access_key_id", "secret_encrypted")
        .order_by("id")
    )
    for key in probe_keys:
        if key.target_id not in credentials:
            credentials[key.target_id] = ProbeCredentials(
                comp_ids[key.target_id], key.access_key_id, key_pair_secret(key)
            )
    addresses = (
        TargetAddress.objects.filter(target_id__in=credentials, released=False)
        .order_by("target_id", "id")
        .values_list("target_id", "id", "ip", "port", "role", "market_segment", "target_sub_id")
    )
    jobs = [
        ProbeJob(
            target_id=target_id,
            address_id=address_id,
            address=ProbeAddress(
                ip=ip, port=port, role=role, market_segment=market_segment, target_sub_id=target_sub_id
            ),
            credentials=credentials[target_id],
        )
        for target_id, address_id, ip, port, role, market_segment, target_sub_id in addresses
    ]
    probed = {job.target_id for job in jobs}
    skipped = sorted(set(target_ids) - probed)
    return jobs, skipped


def served_address_ids(address_ids: Iterable[int], *, at) -> set[int]:
    """The addresses among ``address_ids`` that a running gateway process listens on (one query)."""
    running = GatewayProcess.objects.running(at=at)
    return set(
        ServedAddress.objects.filter(address_id__in=list(address_ids), process__in=running)
        .values_list("address_id", flat=True)
        .distinct()
    )


def _wait_until_served(jobs: Sequence[ProbeJob], *, waiting: set[int], seconds: float, always: bool) -> set[int]:
    """The served addresses of ``jobs``, once every address of ``waiting`` is served or ``seconds`` passed.

    Polls every ``GATEWAY_POLL_SECONDS``. Unless ``always``, the wait ends as soon as no gateway
    process runs at all: nothing would come to serve the addresses.
    """
    address_ids = [job.address_id for job in jobs]
    deadline = time.monotonic() + seconds
    while True:
        served = served_address_ids(address_ids, at=clock.now())
        remaining = deadline - time.monotonic()
        if waiting <= served or remaining <= 0:
            return served
        if not always and not GatewayProcess.objects.running(at=clock.now()).exists():
            return served
        time.sleep(min(GATEWAY_POLL_SECONDS, remaining))


def _served_after_waiting(jobs: Sequence[ProbeJob], wait_for_gateway_seconds: float | None) -> set[int]:
    """The served addresses of ``jobs``, after the wait ``targets_verify`` describes."""
    if not jobs:
        return set()
    if wait_for_gateway_seconds is not None:
        every_address = {job.address_id for job in jobs}
        return _wait_until_served(jobs, waiting=every_address, seconds=wait_for_gateway_seconds, always=True)
    target_ids = {job.target_id for job in jobs}
    first_checks = set(
        TargetSession.objects.filter(pk__in=target_ids, status=TargetStatus.PROVISIONED).values_list("pk", flat=True)
    )
    waiting = {job.address_id for job in jobs if job.target_id in first_checks}
    seconds = settings.DROPCOPY["VERIFY_WAIT_FOR_GATEWAY_SECONDS"]
    return _wait_until_served(jobs, waiting=waiting, seconds=seconds, always=False)


def _not_served_result(job: ProbeJob, *, target_unserved: bool, at) -> ProbeResult:
    detail = NOT_SERVED if target_unserved else NOT_SERVED_ON_THIS_ADDRESS
    return ProbeResult(job.address, False, NOT_SERVED_STAGE, None, at, detail)


def _check_served_addresses(jobs: Sequence[ProbeJob], served: set[int]) -> list[ProbeResult]:
    """Probe the served addresses; the others fail at the ``gateway`` stage. Results in ``jobs`` order."""
    to_probe = [job for job in jobs if job.address_id in served]
    probed = dict(zip((job.address_id for job in to_probe), run_probes(to_probe), strict=True))
    with_a_served_address = {job.target_id for job in to_probe}
    at = clock.now()
    return [
        probed[job.address_id]
        if job.address_id in probed
        else _not_served_result(job, target_unserved=job.target_id not in with_a_served_address, at=at)
        for job in jobs
    ]


CHECK_COLUMNS = (
    "target",
    "ip",
    "role",
    "market_segment",
    "outcome",
    "stage",
    "rtt_ms",
    "logon_ms",
    "checked_at",
    "detail",
)


def _check_row(target_id: int, result: ProbeResult) -> tuple:
    """One ``ConnectivityCheck`` row, in the order of ``CHECK_COLUMNS``."""
    address = result.address
    return (
        target_id,
        address.ip,
        address.role,
        address.market_segment,
        CheckOutcome.OK if result.ok else CheckOutcome.FAILED,
        result.stage,
        result.rtt_ms,
        result.logon_ms,
        result.checked_at,
        result.detail,
    )


def targets_verify(
    *, actor: Actor, target_ids: Iterable[int], wait_for_gateway_seconds: float | None = None
) -> Verification:
    """Check every address of the given targets concurrently and record the outcome (R16).

    Targets that are not verifiable (pending, closed, not ready, no probe key) are skipped. By
    default the addresses of targets not checked since they were provisioned wait, while any
    gateway process runs, up to ``DROPCOPY["VERIFY_WAIT_FOR_GATEWAY_SECONDS"]`` for a running
    gateway to serve them; other targets are served already, or fail at once at the ``gateway``
    stage. ``wait_for_gateway_seconds`` makes every address wait up to that long, even before
    any gateway process has started (a start-up that launches the gateway, then verifies).
    """
    target_ids = sorted(set(target_ids))
    started_at = clock.now()
    jobs, skipped = _jobs_for(target_ids, started_at)
    served = _served_after_waiting(jobs, wait_for_gateway_seconds)
    results = _check_served_addresses(jobs, served)
    by_target: dict[int, list[ProbeResult]] = {}
    for job, result in zip(jobs, results, strict=True):
        by_target.setdefault(job.target_id, []).append(result)

    statuses: dict[int, str] = {}
    checks: list[tuple] = []
    with transaction.atomic():
        targets = TargetSession.objects.select_for_update().filter(pk__in=by_target).order_by("pk")
        changes: list[tuple[TargetSession, dict]] = []
        updates: dict[tuple[str | None, bool], list[int]] = {}
        for target in targets:
            if target.status not in VERIFIABLE_STATUSES:
                skipped.append(target.pk)  # closed (or re-opened) while it was probed
                continue
            target_results = by_target[target.pk]
            checks.extend(_check_row(target.pk, result) for result in target_results)
            new_status = status_from_results(target_results)
            statuses[target.pk] = new_status
            # Each row is updated once in this transaction, set-based per (status, request cleared)
            # (a second UPDATE of a row would re-check its foreign keys and share-lock its group,
            # which an approval may hold while it waits for us). The check asked for before this
            # run started is done; one asked for since stays asked.
            status_changed = target.status != new_status
            clears_request = (
                target.verification_requested_at is not None and target.verification_requested_at <= started_at
            )
            if status_changed:
                changes.append((target, snapshot(target)))
                target.status = new_status
            if clears_request:
                target.verification_requested_at = None
            if status_changed or clears_request:
                updates.setdefault((new_status if status_changed else None, clears_request), []).append(target.pk)
        for (new_status, clears_request), pks in updates.items():
            fields = {}
            if new_status is not None:
                fields["status"] = new_status
            if clears_request:
                fields["verification_requested_at"] = None
            TargetSession.objects.filter(pk__in=pks).update(**fields)
        audit_record_changes(actor=actor, action="verify", changes=changes)
        copy_rows(ConnectivityCheck, CHECK_COLUMNS, checks)  # every check of the batch in one COPY
    not_served = sorted({job.target_id for job in jobs if job.address_id not in served} & set(statuses))
    return Verification(statuses=statuses, skipped=sorted(skipped), checks=len(checks), not_served=not_served)


def target_verify_request(*, actor: Actor, target: TargetSession) -> TargetSession:
    """Queue the verification of ``target`` once the caller's transaction commits (R16).

    A closed target, one not provisioned yet, or a temporary target before its ``ready_at``
    (R10) is refused with ``invalid_transition``. The queued task records the outcome and
    audits the status change. The request is only recorded (``verification_requested_at``), for
    the scheduled sweep to queue it again should the task not be queued or not run.
    """
    if target.status == TargetStatus.CLOSED:
        raise errors.invalid_transition("A closed target is not verified.")
    if target.status == TargetStatus.PENDING:
        raise errors.invalid_transition(
            "The target is not provisioned yet; it is verified once provisioning completes."
        )
    if target.ready_at is not None and clock.now() < target.ready_at:
        raise errors.invalid_transition(
            f"The target is not ready until {target.ready_at.isoformat()}; no verification runs before."
        )
    target.verification_requested_at = clock.now()
    TargetSession.objects.filter(pk=target.pk).update(verification_requested_at=target.verification_requested_at)
    after_commit.queue_task(VERIFY_TARGETS, [target.pk])
    return target


@dataclass(frozen=True)
class Requeued:
    """What one sweep queued again: the targets to provision and the targets to check."""

    provisioning: list[int]
    verification: list[int]


def targets_queue_unfinished(*, older_than: dt.timedelta, batch_size: int) -> Requeued:
    """Queue again the provisioning and the checks asked for more than ``older_than`` ago and not done.

    A task that could not be queued (the broker down at the commit) or was lost is not lost for
    good: the request stays on the target (``provisioning_requested_at``,
    ``verification_requested_at``) until the work is done. Each request queued again counts from
    now, so a target whose work keeps failing is queued at most once per ``older_than``. Checks
    are queued only for verifiable targets (a temporary target once it is ready), in batches of
    ``batch_size``. The tasks are idempotent: queuing one twice does no harm.
    """
    now = clock.now()
    cutoff = now - older_than
    with transaction.atomic():
        to_provision = list(
            TargetSession.objects.select_for_update(skip_locked=True)
            .filter(provisioning_requested_at__lte=cutoff)
            .exclude(status=TargetStatus.CLOSED)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        TargetSession.objects.filter(pk__in=to_provision).update(provisioning_requested_at=now)
        to_verify = list(
            verifiable_targets(at=now)
            .select_for_update(skip_locked=True)
            .filter(verification_requested_at__lte=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        TargetSession.objects.filter(pk__in=to_verify).update(verification_requested_at=now)
        for target_id in to_provision:
            after_commit.queue_task(PROVISION_TARGET, target_id)
        for start in range(0, len(to_verify), batch_size):
            after_commit.queue_task(VERIFY_TARGETS, to_verify[start : start + batch_size])
    return Requeued(provisioning=to_provision, verification=to_verify)


def targets_queue_reverification(*, batch_size: int) -> int:
    """Queue the verification of every verifiable target in batches of ``batch_size``; the count queued.

    A target without a live probe key (one provisioned before probe keys existed) is provisioned
    again instead: provisioning creates its probe key and then queues its verification (R17).
    """
    with_probe_key = KeyPair.objects.filter(target=OuterRef("pk"), is_probe=True).live()
    targets = verifiable_targets().annotate(has_probe_key=Exists(with_probe_key)).order_by("pk")
    target_ids, unkeyed = [], []
    for target_id, has_probe_key in targets.values_list("pk", "has_probe_key"):
        (target_ids if has_probe_key else unkeyed).append(target_id)
    for start in range(0, len(target_ids), batch_size):
        after_commit.queue_task(VERIFY_TARGETS, target_ids[start : start + batch_size])
    for target_id in unkeyed:
        after_commit.queue_task(PROVISION_TARGET, target_id)
    return len(target_ids) + len(unkeyed)


def live_targets_verify(
    *, actor: Actor, batch_size: int, wait_for_gateway_seconds: float | None = None
) -> Verification:
    """Verify every live target that is not temporary, in batches of ``batch_size`` (R16).

    ``wait_for_gateway_seconds`` bounds the whole run's wait for a running gateway to serve the
    targets (see ``targets_verify``): a start-up that has just launched its gateway verifies its
    targets once they are served.
    """
    target_ids = list(verifiable_targets().filter(temporary__isnull=True).order_by("pk").values_list("pk", flat=True))
    deadline = None if wait_for_gateway_seconds is None else time.monotonic() + wait_for_gateway_seconds
    statuses: dict[int, str] = {}
    skipped: list[int] = []
    not_served: list[int] = []
    checks = 0
    for start in range(0, len(target_ids), batch_size):
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        batch = targets_verify(
            actor=actor, target_ids=target_ids[start : start + batch_size], wait_for_gateway_seconds=wait
        )
        statuses.update(batch.statuses)
        skipped.extend(batch.skipped)
        not_served.extend(batch.not_served)
        checks += batch.checks
    return Verification(statuses=statuses, skipped=skipped, checks=checks, not_served=not_served)
