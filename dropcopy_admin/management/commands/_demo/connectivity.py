"""The demo's connectivity history (R16): the checks the scheduled re-verification would have stored.

There is no service that stores given check results (``targets_verify`` probes for real, and the
seed must not probe: no gateway runs yet), so the rows are written here, in one place. Every
live, ready target that has no check yet gets one check per address every hour over the history
window (the scheduled re-verification runs every 15 minutes; the demo keeps one run in four so
the seed stays quick). Nearly all pass in well under a millisecond and the odd TestRequest goes
unanswered; one CGW target's backup was unreachable for three hours (the target was degraded)
and another CGW target could not be reached at all for one run (failed). The latest hour is
clean. Deterministic per target.
"""

import datetime as dt
import math
import random

from django.conf import settings
from django.db.models import Q

from dropcopy_admin.choices import AddressRole, GatewayType, TargetStatus
from dropcopy_admin.models import CheckOutcome, ConnectivityCheck, TargetAddress, TargetSession
from dropcopy_admin.services.verification import VERIFIABLE_STATUSES

CHECK_INTERVAL = dt.timedelta(hours=1)
UNANSWERED_TEST_REQUEST_RATE = 0.002
CLEAN_LATEST = dt.timedelta(hours=1)


def targets_without_history(now: dt.datetime) -> list[TargetSession]:
    """Live, ready targets with no check yet, oldest first."""
    return list(
        TargetSession.objects.filter(status__in=VERIFIABLE_STATUSES)
        .exclude(status=TargetStatus.PENDING)
        .filter(Q(ready_at__isnull=True) | Q(ready_at__lte=now))
        .filter(checks__isnull=True)
        .order_by("pk")
    )


def connectivity_history(*, targets: list[TargetSession], now: dt.datetime, days: int) -> list[ConnectivityCheck]:
    """The check rows of ``targets`` over the ``days`` before ``now`` (unsaved)."""
    if not targets:
        return []
    addresses: dict[int, list[TargetAddress]] = {}
    for address in TargetAddress.objects.filter(target__in=targets, released=False).order_by("pk"):
        addresses.setdefault(address.target_id, []).append(address)
    cgw_with_backup = [t for t in targets if t.gateway_type == GatewayType.CGW and len(addresses.get(t.pk, [])) > 1]
    degraded_target = cgw_with_backup[0].pk if cgw_with_backup else None
    failed_target = cgw_with_backup[-1].pk if len(cgw_with_backup) > 1 else None
    degraded = (now - dt.timedelta(days=2, hours=6), now - dt.timedelta(days=2, hours=3))
    failed_run = now - dt.timedelta(hours=30)

    rows: list[ConnectivityCheck] = []
    window_start = now - dt.timedelta(days=days)
    for target in targets:
        rng = random.Random(target.target_comp_id)
        first = max(window_start, target.created_at, target.ready_at or target.created_at) + CHECK_INTERVAL
        runs = int((now - first) / CHECK_INTERVAL)
        for index in range(runs, 0, -1):
            checked_at = now - index * CHECK_INTERVAL + dt.timedelta(seconds=rng.uniform(0.2, 4.0))
            whole_run_failed = target.pk == failed_target and abs(checked_at - failed_run) < CHECK_INTERVAL / 2
            for address in addresses.get(target.pk, []):
                if whole_run_failed:
                    rows.append(_failed(target, address, checked_at, "connect", _timed_out("connection")))
                elif (
                    target.pk == degraded_target
                    and address.role == AddressRole.BACKUP
                    and degraded[0] <= checked_at < degraded[1]
                ):
                    refused = f"Connect call failed ('{address.ip}', {address.port})"
                    rows.append(_failed(target, address, checked_at, "connect", refused))
                elif now - checked_at > CLEAN_LATEST and rng.random() < UNANSWERED_TEST_REQUEST_RATE:
                    rows.append(_failed(target, address, checked_at, "test_request", _timed_out("answer")))
                else:
                    rows.append(_passed(target, address, checked_at, rng))
    return rows


def _timed_out(what: str) -> str:
    return f"no {what} within {settings.DROPCOPY['VERIFY_TIMEOUT_SECONDS']:g} s"


def _passed(target, address, checked_at, rng: random.Random) -> ConnectivityCheck:
    typical_ms = 0.35 if address.role == AddressRole.PRIMARY else 0.5
    return ConnectivityCheck(
        target=target,
        ip=address.ip,
        role=address.role,
        market_segment=address.market_segment,
        outcome=CheckOutcome.OK,
        stage=None,
        rtt_ms=round(rng.lognormvariate(math.log(typical_ms), 0.35), 3),
        # Connecting, the signed Logon checked and answered: a few milliseconds on loopback.
        logon_ms=round(rng.lognormvariate(math.log(12 * typical_ms), 0.35), 3),
        checked_at=checked_at,
        detail="",
    )


def _failed(target, address, checked_at, stage: str, detail: str) -> ConnectivityCheck:
    return ConnectivityCheck(
        target=target,
        ip=address.ip,
        role=address.role,
        market_segment=address.market_segment,
        outcome=CheckOutcome.FAILED,
        stage=stage,
        rtt_ms=None,
        checked_at=checked_at,
        detail=detail,
    )
