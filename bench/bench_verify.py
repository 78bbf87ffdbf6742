"""Benchmark ``verify``: connectivity verification of 500 CGW targets (1,000 addresses) in one batch.

A real gateway (``manage.py run_gateway``, a child process on the benchmark database) serves 500
provisioned CGW targets with probe keys, on distinct ports of one CME CGW gateway's primary and
backup addresses. ``targets_verify`` checks them in one batch (bounded concurrency, checks stored
in bulk, statuses set) — goal at most 10 s. The baseline is the same 1,000 checks run one by one
(one address at a time, probing only) in the same run; both run warm (the process first reads and
probes a few addresses, as a running worker has). Output:

    bench: verify_500_targets <batch s> s baseline <one-by-one s> s ratio <x>

The ratio is baseline / batch: how many times faster the concurrent batch is (above 1 is faster).

What bounds that ratio on this machine is printed beside it: the same 1,000 checks probed
concurrently again without reading the jobs or storing the results (``…_probing_only``), and the
CPU each check costs the probing process and the gateway process (``/proc``'s utime + stime),
concurrently and one by one. Concurrency cannot make a batch faster than the CPU its checks need
spread over every core, so ``verify_ceiling`` (the one-by-one time over the concurrent checks'
CPU divided by the cores) is the most any batch could gain here, storing nothing:

    bench: verify_500_targets_probing_only <s> s baseline <one-by-one s> s ratio <x>
    bench: verify_cpu_per_check_concurrent <ms> ms (probe <ms>, gateway <ms>)
    bench: verify_cpu_per_check_one_by_one <ms> ms (probe <ms>, gateway <ms>)
    bench: verify_ceiling_on_<n>_cores <x> x

And the floor under all of it (``bench/asyncio_floor.py``): 1,000 checks of the same shape — a
connection, three round trips, the acceptor closing — with no FIX work and no database, between
two asyncio processes, concurrently and one by one. Its ratio is the most an asyncio batch can
gain on this machine however little each check does:

    bench: verify_asyncio_floor <concurrent s> s baseline <one-by-one s> s ratio <x>
    bench: verify_asyncio_floor_cpu_per_check <ms> ms concurrent, <ms> ms one by one
"""

import json
import os
import sys
import time

from bench import asyncio_floor
from bench.bench_gateway import cpu_seconds
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
WARM_UP_TARGETS = 10
FLOOR_CONCURRENCY = 200  # the product's default DROPCOPY["VERIFY_CONCURRENCY"]
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


def child_verify(gateway_pid: int) -> None:
    django_setup()
    from dropcopy_admin import clock
    from dropcopy_admin.models import TargetSession
    from dropcopy_admin.services.audit import SystemActor
    from dropcopy_admin.services.verification import _jobs_for, targets_verify
    from dropcopy_admin.verification.runner import run_probes

    def measured(work):
        """(result, wall seconds, this process's CPU seconds, the gateway's CPU seconds)."""
        wall, cpu, gateway = time.perf_counter(), time.process_time(), cpu_seconds(gateway_pid)
        result = work()
        return (
            result,
            time.perf_counter() - wall,
            time.process_time() - cpu,
            cpu_seconds(gateway_pid) - gateway,
        )

    ids = list(TargetSession.objects.order_by("pk").values_list("pk", flat=True))
    # Warm, as a running worker is: the database connection open, the probe's code run once. The
    # baseline below runs warm as well; without this the batch alone pays for the first of each.
    run_probes(_jobs_for(ids[:WARM_UP_TARGETS], clock.now())[0])
    outcome, batch, _, _ = measured(lambda: targets_verify(actor=SystemActor("bench_verify"), target_ids=ids))
    jobs, _ = _jobs_for(ids, clock.now())
    concurrent, probing, probe_cpu, gateway_cpu = measured(lambda: run_probes(jobs))
    one_by_one, baseline, serial_probe_cpu, serial_gateway_cpu = measured(lambda: run_probes(jobs, concurrency=1))
    statuses = sorted(set(outcome.statuses.values()))
    failures = sum(not result.ok for result in [*concurrent, *one_by_one])
    print(
        json.dumps(
            {
                "batch": batch,
                "baseline": baseline,
                "probing": probing,
                "cpu_ms": [1000 * cpu / len(jobs) for cpu in (probe_cpu, gateway_cpu)],
                "serial_cpu_ms": [1000 * cpu / len(jobs) for cpu in (serial_probe_cpu, serial_gateway_cpu)],
                "statuses": statuses,
                "checks": outcome.checks,
                "failures": failures,
            }
        )
    )


def run() -> list[str]:
    url = bench_database_url()
    recreate_database(url)
    env = child_env(url, DJANGO_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    run_child(["manage.py", "migrate", "--noinput", "-v", "0"], env)
    layout = json.loads(run_child(["-m", "bench.bench_verify", "setup"], env).strip().splitlines()[-1])
    listening = [(ip, layout["last_port"]) for ip in layout["ips"]]
    with running_gateway(env, listening, GATEWAY_READY_TIMEOUT) as gateway_pid:
        measured = json.loads(
            run_child(["-m", "bench.bench_verify", "verify", str(gateway_pid)], env).strip().splitlines()[-1]
        )
    if measured["statuses"] != ["verified"] or measured["checks"] != 2 * TARGETS or measured["failures"]:
        raise RuntimeError(f"verification did not pass everywhere: {measured}")
    batch, baseline, probing = measured["batch"], measured["baseline"], measured["probing"]
    (probe_ms, gateway_ms), (serial_probe_ms, serial_gateway_ms) = measured["cpu_ms"], measured["serial_cpu_ms"]
    cores = os.cpu_count() or 1
    checks = 2 * TARGETS
    ceiling = baseline / ((probe_ms + gateway_ms) / 1000 * checks / cores)
    floor = asyncio_floor.measure(count=checks, concurrency=FLOOR_CONCURRENCY)
    return [
        f"bench: verify_500_targets {batch:.2f} s baseline {baseline:.2f} s ratio {baseline / batch:.1f}",
        f"bench: verify_500_targets_probing_only {probing:.2f} s baseline {baseline:.2f} s "
        f"ratio {baseline / probing:.1f}",
        f"bench: verify_cpu_per_check_concurrent {probe_ms + gateway_ms:.2f} ms "
        f"(probe {probe_ms:.2f}, gateway {gateway_ms:.2f})",
        f"bench: verify_cpu_per_check_one_by_one {serial_probe_ms + serial_gateway_ms:.2f} ms "
        f"(probe {serial_probe_ms:.2f}, gateway {serial_gateway_ms:.2f})",
        f"bench: verify_ceiling_on_{cores}_cores {ceiling:.1f} x",
        f"bench: verify_asyncio_floor {floor['concurrent']:.2f} s baseline {floor['one_by_one']:.2f} s "
        f"ratio {floor['one_by_one'] / floor['concurrent']:.1f}",
        f"bench: verify_asyncio_floor_cpu_per_check {floor['concurrent_cpu_ms']:.2f} ms concurrent, "
        f"{floor['one_by_one_cpu_ms']:.2f} ms one by one",
    ]


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "setup":
        child_setup()
    elif command == "verify":
        child_verify(int(sys.argv[2]))
    else:
        sys.exit("usage: python -m bench.bench_verify setup | verify GATEWAY_PID (or: python -m bench.run verify)")
