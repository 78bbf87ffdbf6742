"""Bulk-approve 15,000 pending memberships of one group through the API (R6, R8).

Goal: at most 20 s for the whole approval, targets opened and provisioned included.

Each run creates a fresh benchmark database (``dropcopy_bench`` on the server of ``DATABASE_URL``,
or ``BENCH_DATABASE_URL``) and migrates it. A child process then sets the scene: one client
entity with one CME PRODUCTION group; 10,000 CGW sessions spread evenly over the four CME iLink
CGW gateways (2,500 each) and 5,000 MSGW sessions, all on the client's GFIDs guaranteed by one
clearing firm, requested by a client administrator into the group (so all 15,000 are pending).
Another child approves them all as the clearing firm's administrator with one
``POST /api/v1/memberships/bulk-decide/`` and reports its wall time; it then checks the layout
R6 demands — per gateway three CGW targets (1,000 + 1,000 + 500), twelve in all, and one MSGW
target serving 5,000 — and counts the queries of approving 1, 10 and 5,000 memberships of other
groups with ``memberships_decide`` (each set opens the same five targets: one MSGW target and one
CGW target per gateway, so the counts compare).

Run alone: ``python -m bench.run approve``.
"""

import json
import sys
import time

from bench.common import base36, bench_database_url, child_env, django_setup, recreate_database, run_child

GOAL_SECONDS = 20.0
CGW_GATEWAYS = ("CGW1", "CGW2", "CGW3", "CGW4")
CGW_PER_GATEWAY = 2_500
MSGW_SESSIONS = 5_000
GFIDS = 10
FIRM = "BCF"
ENTITY = "BENCHAPP"
CLIENT_USER = "bench-client"
FIRM_USER = "bench-firm"
MAIN_GROUP = "Bench approvals"
# Other groups of the same entity: the same sessions, approved to count queries.
QUERY_GROUPS = {"single": 1, "10": 10, "5000": 5_000}
EXPECTED_CGW_TARGETS = [1_000, 1_000, 500]  # per gateway, oldest first


# --- the child processes ---------------------------------------------------------------------


def query_group_sessions(sessions_by_kind: dict[str, list], size: int) -> list:
    """``size`` sessions: one MSGW share and a CGW share spread over the four gateways."""
    if size == 1:
        return sessions_by_kind["CGW1"][:1]
    msgw = size // 2
    per_gateway = (size - msgw) // len(CGW_GATEWAYS)
    chosen = list(sessions_by_kind["MSGW"][:msgw])
    for index, code in enumerate(CGW_GATEWAYS):
        extra = 1 if index < (size - msgw) % len(CGW_GATEWAYS) else 0
        chosen += sessions_by_kind[code][: per_gateway + extra]
    return chosen


def child_setup() -> None:
    """The parties, the sessions, and every membership pending, requested by the client."""
    django_setup()
    from django.utils import timezone

    from dropcopy_admin.choices import Environment, GatewayType, Role
    from dropcopy_admin.models import (
        CgwGateway,
        ClearingFirm,
        DropCopyGroup,
        Entity,
        FrontEndSystem,
        Gfid,
        SourceSession,
        User,
    )
    from entitlements.services.memberships import memberships_request

    now = timezone.now()
    firm = ClearingFirm.objects.create(code=FIRM, name="Bench Clearing")
    entity = Entity.objects.create(code=ENTITY, name="Bench Approvals Trading", self_service=True)
    client = User.objects.create_user(CLIENT_USER, f"{CLIENT_USER}@example.com", role=Role.CLIENT, entity=entity)
    User.objects.create_user(FIRM_USER, f"{FIRM_USER}@example.com", role=Role.CLEARING_FIRM, clearing_firm=firm)
    gfids = Gfid.objects.bulk_create(
        Gfid(code="A" + base36(n, 2), venue_id="CME", entity=entity, clearing_firm=firm, admin_control=False)
        for n in range(GFIDS)
    )
    gateways = {g.code: g for g in CgwGateway.objects.filter(venue_id="CME", environment=Environment.PRODUCTION)}
    plan = [(GatewayType.CGW, code) for code in CGW_GATEWAYS for _ in range(CGW_PER_GATEWAY)]
    plan += [(GatewayType.MSGW, None)] * MSGW_SESSIONS
    sessions = SourceSession.objects.bulk_create(
        (
            SourceSession(
                sender_comp_id=base36(n // GFIDS, 3) + gfids[n % GFIDS].code + "N",
                venue_id="CME",
                environment=Environment.PRODUCTION,
                gateway_type=gateway_type,
                cgw_gateway=gateways[code] if code else None,
                gfid=gfids[n % GFIDS],
                clearing_firm=firm,
                created_at=now,
            )
            for n, (gateway_type, code) in enumerate(plan)
        ),
        batch_size=5_000,
    )
    system = FrontEndSystem.objects.create(
        entity=entity, name="BenchDesk", version="1.0", vendor="Bench", created_at=now
    )

    def group(name: str) -> DropCopyGroup:
        return DropCopyGroup.objects.create(
            entity=entity,
            name=name,
            venue_id="CME",
            environment=Environment.PRODUCTION,
            front_end_system=system,
            message_filters=["fills", "trade_busts"],
            opened_at=now,
        )

    sessions = list(SourceSession.objects.filter(pk__in=[s.pk for s in sessions]).select_related("gfid").order_by("pk"))
    _request(memberships_request, client, group(MAIN_GROUP), sessions)
    by_kind: dict[str, list] = {code: [] for code in (*CGW_GATEWAYS, "MSGW")}
    for session in sessions:
        by_kind[session.cgw_gateway.code if session.cgw_gateway_id else "MSGW"].append(session)
    for name, size in QUERY_GROUPS.items():
        _request(memberships_request, client, group(f"Bench queries {name}"), query_group_sessions(by_kind, size))


def _request(memberships_request, client, group, sessions) -> None:
    outcomes = memberships_request(actor=client, group=group, sessions=sessions)
    refused = [o.error for o in outcomes if o.error is not None]
    pending = sum(1 for o in outcomes if o.membership is not None and o.membership.status == "pending")
    if refused or pending != len(sessions):
        raise RuntimeError(f"setting up {group.name}: {pending} pending of {len(sessions)}; {refused[:3]}")


def _layout(group) -> dict:
    """Per gateway, the ``used`` of its targets (oldest first), checked against the approvals on them."""
    from django.db.models import Count, Q

    from dropcopy_admin.models import TargetSession

    targets = (
        TargetSession.objects.filter(group=group)
        .select_related("cgw_gateway")
        .annotate(approved=Count("memberships", filter=Q(memberships__status="approved")))
        .order_by("id")
    )
    layout: dict[str, list[int]] = {}
    for target in targets:
        if target.used != target.approved or target.used > target.capacity:
            raise RuntimeError(f"target {target} has used={target.used}, {target.approved} approved")
        # Provisioning ran in-process; it chains verification (R17), which finds no gateway here
        # and marks the target failed. Anything past pending shows the target was provisioned.
        if target.status == "pending" or target.provisioning_error_code:
            raise RuntimeError(f"target {target} was not provisioned: {target.status} {target.provisioning_error_code}")
        layout.setdefault(target.cgw_gateway.code if target.cgw_gateway_id else "MSGW", []).append(target.used)
    return layout


def child_approve() -> None:
    """Approve the main group's 15,000 requests through the API, then check and count queries."""
    django_setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from dropcopy_admin.models import DropCopyGroup, Membership, User
    from entitlements.services.memberships import memberships_decide

    firm_admin = User.objects.get(username=FIRM_USER)
    main = DropCopyGroup.objects.get(name=MAIN_GROUP)
    ids = list(Membership.objects.filter(group=main, status="pending").order_by("pk").values_list("pk", flat=True))
    api = APIClient()
    api.force_authenticate(firm_admin)

    started = time.perf_counter()
    response = api.post("/api/v1/memberships/bulk-decide/", {"memberships": ids, "decision": "approve"}, format="json")
    seconds = time.perf_counter() - started

    if response.status_code != 200:
        raise RuntimeError(f"bulk-decide answered {response.status_code}: {response.content[:500]!r}")
    results = response.json()["results"]
    failed = [r for r in results if "error" in r]
    if len(results) != len(ids) or failed:
        raise RuntimeError(f"bulk-decide: {len(results)} results for {len(ids)} ids; errors {failed[:3]}")
    layout = _layout(main)

    queries = {}
    for name in QUERY_GROUPS:
        group = DropCopyGroup.objects.get(name=f"Bench queries {name}")
        pending = list(Membership.objects.filter(group=group, status="pending").order_by("pk"))
        with CaptureQueriesContext(connection) as captured:
            outcomes = memberships_decide(actor=firm_admin, memberships=pending, decision="approve")
        if any(o.error is not None for o in outcomes):
            raise RuntimeError(f"approving {name}: {[o.error for o in outcomes if o.error][:3]}")
        queries[name] = len(captured)
    print(json.dumps({"seconds": seconds, "approved": len(ids), "layout": layout, "queries": queries}))


def run() -> list[str]:
    url = bench_database_url()
    recreate_database(url)
    run_child_on(["manage.py", "migrate", "--noinput", "-v", "0"], url)
    run_child_on(["-m", "bench.bench_approve", "setup"], url)
    measured = json.loads(run_child_on(["-m", "bench.bench_approve", "approve"], url).strip().splitlines()[-1])
    layout = measured["layout"]
    cgw_targets = sum(len(used) for code, used in layout.items() if code != "MSGW")
    expected = {**dict.fromkeys(CGW_GATEWAYS, EXPECTED_CGW_TARGETS), "MSGW": [MSGW_SESSIONS]}
    if layout != expected:
        raise RuntimeError(f"targets after approval: {layout}, expected {expected}")
    seconds, queries = measured["seconds"], measured["queries"]
    return [
        f"bench: approve_15k_bulk {seconds:.2f} s",
        f"bench: approve_cgw_targets {cgw_targets} targets",
        f"bench: approve_msgw_used {layout['MSGW'][0]} sessions",
        f"bench: approve_queries_single {queries['single']} queries",
        f"bench: approve_queries_10 {queries['10']} queries",
        f"bench: approve_queries_5000 {queries['5000']} queries",
    ]


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "setup":
        child_setup()
    elif command == "approve":
        child_approve()
    else:
        sys.exit("usage: python -m bench.bench_approve setup | approve (or run it with python -m bench.run approve)")


def run_child_on(args: list[str], url: str) -> str:
    # The decision e-mails are built and "sent" in memory, not printed on the console.
    return run_child(args, child_env(url, DJANGO_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"))
