"""Benchmark ``verify``: connectivity verification of 500 CGW targets (1,000 addresses) in one batch.

A real gateway (``manage.py run_gateway``, a child process on the benchmark database) serves 500
provisioned CGW targets with probe keys, on distinct ports of one CME CGW gateway's primary and
backup addresses. ``targets_verify`` checks them in one batch (bounded concurrency, checks stored
in bulk, statuses set) — goal at most 10 s. The baseline is the same 1,000 checks run one by one
(one address at a time, probing only) in the same run. Output:

    bench: verify_500_targets <batch s> s baseline <one-by-one s> s ratio <x>

The ratio is baseline / batch: how many times faster the concurrent batch is (above 1 is faster).
"""

import json
import sys
import time

from bench.common import (
    bench_database_url,
    child_env,
    create_provisioned_cgw_targets,
    django_setup,
    recreate_database,
    run_child,
    running_gateway,
)

TARGETS = 500
PORT_OFFSET = 3000  # above the ports tests allocate, so a test gateway elsewhere does not collide
GATEWAY_READY_TIMEOUT = 60.0


def child_setup() -> None:
    django_setup()
    from dropcopy_admin.services.audit import SystemActor
    from dropcopy_admin.services.keys import probe_key_pair_ensure

    targets = create_provisioned_cgw_targets(
        count=TARGETS, entity_code="BVERIFY", id_prefix="V", port_offset=PORT_OFFSET
    )
    actor = SystemActor("bench_verify")
    for target in targets:
        probe_key_pair_ensure(actor=actor, target_id=target.pk)
    last = targets[-1]
    gateway = last.cgw_gateway
    print(json.dumps({"ips": [gateway.primary_ip, gateway.backup_ip], "last_port": last.port}))


def base36(n: int, width: int) -> str:
    from bench.common import base36 as encode

    return encode(n, width)


def child_verify() -> None:
    django_setup()
    from dropcopy_admin import clock
    from dropcopy_admin.models import TargetSession
    from dropcopy_admin.services.audit import SystemActor
    from dropcopy_admin.services.verification import _jobs_for, targets_verify
    from dropcopy_admin.verification.runner import run_probes

    ids = list(TargetSession.objects.order_by("pk").values_list("pk", flat=True))
    started = time.perf_counter()
    outcome = targets_verify(actor=SystemActor("bench_verify"), target_ids=ids)
    batch = time.perf_counter() - started
    jobs, _ = _jobs_for(ids, clock.now())
    started = time.perf_counter()
    one_by_one = run_probes(jobs, concurrency=1)
    baseline = time.perf_counter() - started
    statuses = sorted(set(outcome.statuses.values()))
    failures = sum(not result.ok for result in one_by_one)
    print(
        json.dumps(
            {"batch": batch, "baseline": baseline, "statuses": statuses, "checks": outcome.checks, "failures": failures}
        )
    )


def run() -> list[str]:
    url = bench_database_url()
    recreate_database(url)
    env = child_env(url, DJANGO_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    run_child(["manage.py", "migrate", "--noinput", "-v", "0"], env)
    layout = json.loads(run_child(["-m", "bench.bench_verify", "setup"], env).strip().splitlines()[-1])
    listening = [(ip, layout["last_port"]) for ip in layout["ips"]]
    with running_gateway(env, listening, GATEWAY_READY_TIMEOUT):
        measured = json.loads(run_child(["-m", "bench.bench_verify", "verify"], env).strip().splitlines()[-1])
    if measured["statuses"] != ["verified"] or measured["checks"] != 2 * TARGETS or measured["failures"]:
        raise RuntimeError(f"verification did not pass everywhere: {measured}")
    batch, baseline = measured["batch"], measured["baseline"]
    return [f"bench: verify_500_targets {batch:.2f} s baseline {baseline:.2f} s ratio {baseline / batch:.1f}"]


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "setup":
        child_setup()
    elif command == "verify":
        child_verify()
    else:
        sys.exit("usage: python -m bench.bench_verify setup | verify (or run it with python -m bench.run verify)")
