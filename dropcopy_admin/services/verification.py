"""Connectivity verification of targets (R16): probe every address, store the checks, set the status.

``targets_verify`` checks a batch of targets in three steps: read what to probe (live addresses
and the live probe key of each verifiable target), probe every address concurrently outside any
transaction (``verification.runner``), then in one transaction lock the targets in id order,
store every check with one bulk insert and set each target's status:

- ``verified`` when every address passes;
- ``degraded`` when every primary passes but some backup fails;
- ``failed`` otherwise.

A target closed while it was probed is left alone. Check rows are records in their own right
(R18); the audit trail records a target's status change, once per target.

A target is verifiable when it is provisioned (its probe key exists), not closed and ready
(``ready_at`` empty or past, R10): before that ``target_verify_request`` answers
``invalid_transition`` and a batch skips it.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Q

from dropcopy_admin import clock, errors
from dropcopy_admin.choices import AddressRole, TargetStatus
from dropcopy_admin.models import CheckOutcome, ConnectivityCheck, KeyPair, TargetAddress, TargetSession
from dropcopy_admin.selectors.keys import key_pair_secret
from dropcopy_admin.verification.probe import ProbeAddress, ProbeCredentials, ProbeResult
from dropcopy_admin.verification.runner import ProbeJob, run_probes

from .audit import Actor, audit_record, snapshot

VERIFIABLE_STATUSES = (TargetStatus.PROVISIONED, TargetStatus.VERIFIED, TargetStatus.DEGRADED, TargetStatus.FAILED)


@dataclass(frozen=True)
class Verification:
    """What one batch did: each verified target's new status, and the targets skipped."""

    statuses: dict[int, str]
    skipped: list[int]
    checks: int


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
    live_addresses = TargetAddress.objects.filter(released=False).order_by("id")
    live_probe_keys = (
        KeyPair.objects.filter(is_probe=True, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))
        .order_by("id")
    )
    targets = (
        verifiable_targets(at=at)
        .filter(pk__in=target_ids)
        .prefetch_related(
            Prefetch("addresses", queryset=live_addresses, to_attr="live_addresses"),
            Prefetch("key_pairs", queryset=live_probe_keys, to_attr="probe_keys"),
        )
        .order_by("pk")
    )
    jobs: list[ProbeJob] = []
    probed: set[int] = set()
    for target in targets:
        if not target.probe_keys or not target.live_addresses:
            continue
        probe_key = target.probe_keys[0]
        credentials = ProbeCredentials(target.target_comp_id, probe_key.access_key_id, key_pair_secret(probe_key))
        for address in target.live_addresses:
            probe_address = ProbeAddress(
                ip=address.ip,
                port=address.port,
                role=address.role,
                market_segment=address.market_segment,
                target_sub_id=address.target_sub_id,
            )
            jobs.append(ProbeJob(target_id=target.pk, address=probe_address, credentials=credentials))
        probed.add(target.pk)
    skipped = sorted(set(target_ids) - probed)
    return jobs, skipped


def _check_row(target_id: int, result: ProbeResult) -> ConnectivityCheck:
    return ConnectivityCheck(
        target_id=target_id,
        ip=result.address.ip,
        role=result.address.role,
        market_segment=result.address.market_segment,
        outcome=CheckOutcome.OK if result.ok else CheckOutcome.FAILED,
        stage=result.stage,
        rtt_ms=result.rtt_ms,
        checked_at=result.checked_at,
        detail=result.detail,
    )


def targets_verify(*, actor: Actor, target_ids: Iterable[int]) -> Verification:
    """Check every address of the given targets concurrently and record the outcome (R16).

    Targets that are not verifiable (pending, closed, not ready, no probe key) are skipped.
    """
    target_ids = sorted(set(target_ids))
    jobs, skipped = _jobs_for(target_ids, clock.now())
    results = run_probes(jobs)
    by_target: dict[int, list[ProbeResult]] = {}
    for job, result in zip(jobs, results, strict=True):
        by_target.setdefault(job.target_id, []).append(result)

    statuses: dict[int, str] = {}
    checks: list[ConnectivityCheck] = []
    with transaction.atomic():
        targets = TargetSession.objects.select_for_update().filter(pk__in=by_target).order_by("pk")
        for target in targets:
            if target.status not in VERIFIABLE_STATUSES:
                skipped.append(target.pk)  # closed (or re-opened) while it was probed
                continue
            target_results = by_target[target.pk]
            checks.extend(_check_row(target.pk, result) for result in target_results)
            new_status = status_from_results(target_results)
            statuses[target.pk] = new_status
            if target.status != new_status:
                before = snapshot(target)
                target.status = new_status
                target.save(update_fields=["status"])
                audit_record(actor=actor, action="verify", instance=target, before=before)
        ConnectivityCheck.objects.bulk_create(checks, batch_size=2000)
    return Verification(statuses=statuses, skipped=sorted(skipped), checks=len(checks))


def target_verify_request(*, actor: Actor, target: TargetSession) -> TargetSession:
    """Queue the verification of ``target`` once the caller's transaction commits (R16).

    A closed target, one not provisioned yet, or a temporary target before its ``ready_at``
    (R10) is refused with ``invalid_transition``. The queued task records the outcome and
    audits the status change; the request itself changes nothing.
    """
    if target.status == TargetStatus.CLOSED:
        raise errors.Conflict("A closed target is not verified.", code="invalid_transition")
    if target.status == TargetStatus.PENDING:
        raise errors.Conflict(
            "The target is not provisioned yet; it is verified once provisioning completes.", code="invalid_transition"
        )
    if target.ready_at is not None and clock.now() < target.ready_at:
        raise errors.Conflict(
            f"The target is not ready until {target.ready_at.isoformat()}; no verification runs before.",
            code="invalid_transition",
        )
    transaction.on_commit(lambda target_id=target.pk: _queue_verification([target_id]), robust=True)
    return target


def _queue_verification(target_ids: list[int]) -> None:
    from dropcopy_admin.tasks import verify_targets

    verify_targets.delay(target_ids)


def targets_queue_reverification(*, batch_size: int) -> int:
    """Queue the verification of every verifiable target in batches of ``batch_size``; the count queued.

    A target without a live probe key (one provisioned before probe keys existed) is provisioned
    again instead: provisioning creates its probe key and then queues its verification (R17).
    """
    with_probe_key = KeyPair.objects.filter(target=OuterRef("pk"), is_probe=True, revoked_at__isnull=True)
    targets = verifiable_targets().annotate(has_probe_key=Exists(with_probe_key)).order_by("pk")
    target_ids, unkeyed = [], []
    for target_id, has_probe_key in targets.values_list("pk", "has_probe_key"):
        (target_ids if has_probe_key else unkeyed).append(target_id)
    for start in range(0, len(target_ids), batch_size):
        _queue_verification(target_ids[start : start + batch_size])
    if unkeyed:
        from dropcopy_admin.tasks import provision_target

        for target_id in unkeyed:
            provision_target.delay(target_id)
    return len(target_ids) + len(unkeyed)
