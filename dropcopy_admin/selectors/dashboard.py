"""The account managers' dashboard, core figures: capacity, connectivity, queues and the live gateway.

Each function reads one panel in a constant number of queries whatever the size of the world
(aggregates in the database, lists cut to a few rows); every figure carries the changelist filter
of the rows behind it (``Figure.query``), so the page links each number to its list. Revenue is
billing's (``billing.dashboard``): the core imports nothing of billing or entitlements.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate

from dropcopy_admin.choices import Environment, GatewayType, MembershipStatus, TargetStatus, TemporaryKind
from dropcopy_admin.models import GatewayProcess, KeyPair, Membership, TargetSession
from dropcopy_admin.models.checks import CheckOutcome, ConnectivityCheck
from dropcopy_admin.models.gateway_processes import GONE_AFTER

FULL_SHARE = 0.8  # a target at 80 % of its capacity and above is flagged
LISTED = 10  # rows of a panel's list (the fullest targets, the failing addresses, the oldest requests)
CHECK_DAYS = 7
KEY_EXPIRY_DAYS = 30
# Pending requests expire after PENDING_REQUEST_LIFETIME_DAYS (R8); those within a week of it are flagged.
PENDING_WARNING_DAYS = 7


@dataclass(frozen=True)
class Figure:
    """One number of the dashboard and the changelist filter (query parameters) of its rows."""

    label: str
    value: int
    query: dict = field(default_factory=dict)
    flagged: bool = False


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat()


def _live_targets():
    """Targets not closed (``LIVE`` is the same filter as the changelist's query)."""
    return TargetSession.objects.filter(closed_at__isnull=True)


LIVE = {"closed_at__isnull": "True"}


def _is_full():
    return Q(used__gte=F("capacity") * FULL_SHARE)


# --- capacity -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GatewayLoad:
    label: str
    targets: int
    used: int
    capacity: int
    full: int
    query: dict

    @property
    def percent(self) -> float:
        return round(100 * self.used / self.capacity, 1) if self.capacity else 0.0


def capacity(*, at: dt.datetime) -> dict:
    """Each iLink CGW's live targets (SenderComps used of 1,000 each), the fullest MSGW targets (of
    5,000), the targets at 80 % and above, and the targets created this month: four queries."""
    per_gateway = (
        _live_targets()
        .filter(gateway_type=GatewayType.CGW)
        .values("cgw_gateway_id", "cgw_gateway__code", "cgw_gateway__venue_id", "cgw_gateway__environment")
        .annotate(
            targets=Count("id"), used_sum=Sum("used"), capacity_sum=Sum("capacity"), full=Count("id", filter=_is_full())
        )
        .order_by("cgw_gateway__venue_id", "cgw_gateway__environment", "cgw_gateway__code")
    )
    gateways = [
        GatewayLoad(
            label=f"{row['cgw_gateway__venue_id']} {row['cgw_gateway__code']} "
            f"({Environment(row['cgw_gateway__environment']).label})",
            targets=row["targets"],
            used=row["used_sum"] or 0,
            capacity=row["capacity_sum"] or 0,
            full=row["full"],
            query={"cgw_gateway": row["cgw_gateway_id"], **LIVE},
        )
        for row in per_gateway
        if row["cgw_gateway_id"] is not None
    ]
    msgw = list(_live_targets().filter(gateway_type=GatewayType.MSGW).order_by("-used", "id")[:LISTED])
    full = list(_live_targets().filter(_is_full()).order_by("-used", "id")[:LISTED])
    month_start = at.astimezone(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    totals = _live_targets().aggregate(
        full=Count("id", filter=_is_full()),
        msgw=Count("id", filter=Q(gateway_type=GatewayType.MSGW)),
        new=Count("id", filter=Q(created_at__gte=month_start)),
    )
    return {
        "gateways": gateways,
        "msgw_targets": msgw,
        "msgw": Figure("MSGW targets", totals["msgw"], {"gateway_type__exact": GatewayType.MSGW, **LIVE}),
        "full_targets": full,
        "full": Figure(
            "Targets at 80 % and above", totals["full"], {"load": "full", **LIVE}, flagged=totals["full"] > 0
        ),
        "new": Figure("New targets this month", totals["new"], {"created_at__gte": _iso(month_start)}),
        "cgw_capacity": settings.DROPCOPY["CGW_TARGET_CAPACITY"],
        "msgw_capacity": settings.DROPCOPY["MSGW_TARGET_CAPACITY"],
    }


# --- connectivity --------------------------------------------------------------------------------

NOT_CHECKED = (TargetStatus.PENDING, TargetStatus.PROVISIONED)

# The addresses whose latest check failed, and since when: the first failed check after the last
# passing one (or the first check of all). Only targets marked failed or degraded have such an
# address (R16). Per address, two short walks of the (target, address, time) index; CGW addresses
# (no market segment) and MSGW ones take separate branches so that both walks stay on the index.
FAILING_ADDRESSES_SQL = """
WITH addresses AS (
    SELECT DISTINCT a.target_id, a.ip, a.market_segment
    FROM dropcopy_admin_targetaddress AS a
    JOIN dropcopy_admin_targetsession AS t ON t.id = a.target_id
    WHERE t.status = ANY(%(statuses)s) AND NOT a.released
), streaks AS (
    SELECT a.target_id, a.ip, a.market_segment, streak.failed, streak.since
    FROM addresses AS a
    LEFT JOIN LATERAL (
        SELECT c.checked_at AS last_ok FROM dropcopy_admin_connectivitycheck AS c
        WHERE c.target_id = a.target_id AND c.ip = a.ip AND c.market_segment IS NULL AND c.outcome = %(ok)s
        ORDER BY c.checked_at DESC LIMIT 1
    ) AS ok_check ON true
    CROSS JOIN LATERAL (
        SELECT count(*) AS failed, min(c.checked_at) AS since FROM dropcopy_admin_connectivitycheck AS c
        WHERE c.target_id = a.target_id AND c.ip = a.ip AND c.market_segment IS NULL
          AND c.checked_at > coalesce(ok_check.last_ok, '-infinity')
    ) AS streak
    WHERE a.market_segment IS NULL
    UNION ALL
    SELECT a.target_id, a.ip, a.market_segment, streak.failed, streak.since
    FROM addresses AS a
    LEFT JOIN LATERAL (
        SELECT c.checked_at AS last_ok FROM dropcopy_admin_connectivitycheck AS c
        WHERE c.target_id = a.target_id AND c.ip = a.ip AND c.market_segment = a.market_segment AND c.outcome = %(ok)s
        ORDER BY c.checked_at DESC LIMIT 1
    ) AS ok_check ON true
    CROSS JOIN LATERAL (
        SELECT count(*) AS failed, min(c.checked_at) AS since FROM dropcopy_admin_connectivitycheck AS c
        WHERE c.target_id = a.target_id AND c.ip = a.ip AND c.market_segment = a.market_segment
          AND c.checked_at > coalesce(ok_check.last_ok, '-infinity')
    ) AS streak
    WHERE a.market_segment IS NOT NULL
)
SELECT s.target_id, t.target_comp_id, s.ip, s.market_segment, s.failed, s.since, count(*) OVER ()
FROM streaks AS s
JOIN dropcopy_admin_targetsession AS t ON t.id = s.target_id
WHERE s.failed > 0
ORDER BY s.since, s.target_id, s.ip, s.market_segment
LIMIT %(limit)s
"""


@dataclass(frozen=True)
class FailingAddress:
    target_id: int
    target_comp_id: str
    ip: str
    market_segment: int | None
    failed_checks: int
    since: dt.datetime
    failing_for: dt.timedelta
    query: dict


def _failing_addresses(at: dt.datetime) -> tuple[list[FailingAddress], int]:
    params = {
        "ok": CheckOutcome.OK.value,
        "statuses": [TargetStatus.FAILED.value, TargetStatus.DEGRADED.value],
        "limit": LISTED,
    }
    with connection.cursor() as cursor:
        cursor.execute(FAILING_ADDRESSES_SQL, params)
        rows = cursor.fetchall()
    addresses = []
    for target_id, comp_id, ip, segment, failed, since, _ in rows:
        query = {"target": target_id, "ip": ip, "outcome__exact": CheckOutcome.FAILED, "checked_at__gte": _iso(since)}
        query.update({"market_segment": segment} if segment is not None else {"market_segment__isnull": "True"})
        addresses.append(FailingAddress(target_id, comp_id, ip, segment, failed, since, at - since, query))
    return addresses, (rows[0][6] if rows else 0)


def connectivity(*, at: dt.datetime) -> dict:
    """Live targets by status, the failing addresses (longest failing first) and the checks of the
    last seven days by day and outcome: three queries."""
    counts = dict(_live_targets().values_list("status").annotate(n=Count("id")).order_by())
    statuses = [
        Figure("Verified", counts.get(TargetStatus.VERIFIED, 0), {"status__exact": TargetStatus.VERIFIED}),
        Figure(
            "Degraded",
            counts.get(TargetStatus.DEGRADED, 0),
            {"status__exact": TargetStatus.DEGRADED},
            flagged=counts.get(TargetStatus.DEGRADED, 0) > 0,
        ),
        Figure(
            "Failed",
            counts.get(TargetStatus.FAILED, 0),
            {"status__exact": TargetStatus.FAILED},
            flagged=counts.get(TargetStatus.FAILED, 0) > 0,
        ),
        Figure(
            "Not yet checked",
            sum(counts.get(status, 0) for status in NOT_CHECKED),
            {"status__in": ",".join(NOT_CHECKED)},
        ),
    ]
    failing, failing_total = _failing_addresses(at)
    first_day = (at.astimezone(dt.UTC) - dt.timedelta(days=CHECK_DAYS - 1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    per_day = (
        ConnectivityCheck.objects.filter(checked_at__gte=first_day)
        .annotate(day=TruncDate("checked_at", tzinfo=dt.UTC))
        .values("day")
        .annotate(ok=Count("id", filter=Q(outcome=CheckOutcome.OK)), failed=Count("id", filter=~Q(outcome="ok")))
        .order_by("day")
    )
    by_day = {row["day"]: row for row in per_day}
    days = []
    for offset in range(CHECK_DAYS):
        start = first_day + dt.timedelta(days=offset)
        row = by_day.get(start.date(), {"ok": 0, "failed": 0})
        window = {"checked_at__gte": _iso(start), "checked_at__lt": _iso(start + dt.timedelta(days=1))}
        days.append(
            {
                "day": start.date(),
                "ok": Figure("passed", row["ok"], {**window, "outcome__exact": CheckOutcome.OK}),
                "failed": Figure(
                    "failed", row["failed"], {**window, "outcome__exact": CheckOutcome.FAILED}, row["failed"] > 0
                ),
            }
        )
    return {
        "statuses": statuses,
        "failing": failing,
        "failing_total": failing_total,
        "days": days,
    }


# --- queues --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingRequest:
    pk: int
    sender_comp_id: str
    group: str
    entity: str
    requested_at: dt.datetime
    age: dt.timedelta
    flagged: bool


def queues(*, at: dt.datetime) -> dict:
    """Pending requests by age (oldest first, those near their expiry flagged) and the oldest few,
    test targets by stage and key pairs expiring within 30 days: four queries."""
    lifetime = dt.timedelta(days=settings.DROPCOPY["PENDING_REQUEST_LIFETIME_DAYS"])
    warn_after = lifetime - dt.timedelta(days=PENDING_WARNING_DAYS)
    edges = [(lifetime, warn_after, True)]
    days = warn_after.days
    for upper, lower in ((days, 14), (14, 7), (7, 0)):
        edges.append((dt.timedelta(days=upper), dt.timedelta(days=lower), False))
    pending = Membership.objects.filter(status=MembershipStatus.PENDING)
    aggregates = {
        f"b{index}": Count("id", filter=Q(requested_at__gt=at - upper, requested_at__lte=at - lower))
        for index, (upper, lower, _) in enumerate(edges)
    }
    counted = pending.aggregate(total=Count("id"), **aggregates)
    buckets = []
    for index, (upper, lower, flagged) in enumerate(edges):
        value = counted[f"b{index}"]
        label = f"{lower.days}–{upper.days} days old" + (" (expire within a week)" if flagged else "")
        buckets.append(
            Figure(
                label,
                value,
                {
                    "status__exact": MembershipStatus.PENDING,
                    "requested_at__gt": _iso(at - upper),
                    "requested_at__lte": _iso(at - lower),
                },
                flagged=flagged and value > 0,
            )
        )
    oldest = [
        PendingRequest(
            pk=row["pk"],
            sender_comp_id=row["source_session__sender_comp_id"],
            group=row["group__name"],
            entity=row["group__entity__code"],
            requested_at=row["requested_at"],
            age=at - row["requested_at"],
            flagged=at - row["requested_at"] > warn_after,
        )
        for row in pending.order_by("requested_at", "id").values(
            "pk", "source_session__sender_comp_id", "group__name", "group__entity__code", "requested_at"
        )[:LISTED]
    ]
    return {
        "lifetime_days": lifetime.days,
        "pending": Figure("Pending requests", counted["total"], {"status__exact": MembershipStatus.PENDING}),
        "pending_buckets": buckets,
        "oldest_pending": oldest,
        "test_targets": _test_targets(at),
        "expiring_keys": _expiring_keys(at),
    }


def _test_targets(at: dt.datetime) -> list[Figure]:
    """Live temporary targets by kind and stage: waiting for their ready time, live, expiring soon."""
    soon = at + dt.timedelta(hours=settings.DROPCOPY["NEW_RELEASE_TARGET_EXPIRY_WARNING_HOURS"])
    stages = {
        "waiting": (Q(ready_at__gt=at), {"ready_at__gt": _iso(at)}, "waiting for their ready time"),
        "live": (
            Q(ready_at__lte=at, expires_at__gt=soon),
            {"ready_at__lte": _iso(at), "expires_at__gt": _iso(soon)},
            "ready and in use",
        ),
        "expiring": (
            Q(ready_at__lte=at, expires_at__lte=soon),
            {"ready_at__lte": _iso(at), "expires_at__lte": _iso(soon)},
            "expiring within two days",
        ),
    }
    aggregates = {
        f"{kind}_{stage}": Count("id", filter=Q(temporary=kind) & condition)
        for kind in TemporaryKind.values
        for stage, (condition, _, _) in stages.items()
    }
    counted = _live_targets().filter(temporary__isnull=False).aggregate(**aggregates)
    figures = []
    for kind, kind_label in TemporaryKind.choices:
        for stage, (_, query, stage_label) in stages.items():
            value = counted[f"{kind}_{stage}"]
            figures.append(
                Figure(
                    f"{kind_label}s {stage_label}",
                    value,
                    {"temporary__exact": kind, **LIVE, **query},
                    flagged=stage == "expiring" and value > 0,
                )
            )
    return figures


def _expiring_keys(at: dt.datetime) -> Figure:
    until = at + dt.timedelta(days=KEY_EXPIRY_DAYS)
    value = KeyPair.objects.filter(is_probe=False, revoked_at__isnull=True, expires_at__gt=at, expires_at__lte=until)
    count = value.count()
    return Figure(
        "Key pairs expiring within 30 days",
        count,
        {"revoked_at__isnull": "True", "expires_at__gt": _iso(at), "expires_at__lte": _iso(until)},
        flagged=count > 0,
    )


# --- the gateway, live ---------------------------------------------------------------------------


def gateway_live(*, at: dt.datetime) -> dict:
    """The running gateway processes and the figures each last published: one query."""
    processes = list(GatewayProcess.objects.running(at=at).order_by("host", "pid"))
    return {
        "processes": processes,
        "running": Figure(
            "Gateway processes running",
            len(processes),
            {"stopped_at__isnull": "True", "last_seen_at__gte": _iso(at - GONE_AFTER)},
        ),
    }


def core_dashboard(*, at: dt.datetime) -> dict:
    """Every core panel of the account managers' dashboard, at ``at``."""
    return {
        "capacity": capacity(at=at),
        "connectivity": connectivity(at=at),
        "queues": queues(at=at),
        "gateway": gateway_live(at=at),
    }
