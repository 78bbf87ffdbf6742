"""Run the probe on many addresses at once, with a bound (R16).

Every address of every target in a batch is probed concurrently on one event loop, at most
``DROPCOPY["VERIFY_CONCURRENCY"]`` at a time, each stage bounded by
``DROPCOPY["VERIFY_TIMEOUT_SECONDS"]``. No database access here: the caller gives the jobs and
stores the results.
"""

import asyncio
import concurrent.futures
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings

from .probe import ProbeAddress, ProbeCredentials, ProbeResult, probe_address


@dataclass(frozen=True)
class ProbeJob:
    target_id: int
    address_id: int
    address: ProbeAddress
    credentials: ProbeCredentials


async def probe_jobs(jobs: Sequence[ProbeJob], *, concurrency: int, timeout: float) -> list[ProbeResult]:
    """Probe every job with at most ``concurrency`` in flight; results in the order of ``jobs``."""
    bound = asyncio.Semaphore(max(1, concurrency))

    async def one(job: ProbeJob) -> ProbeResult:
        async with bound:
            return await probe_address(job.address, job.credentials, timeout=timeout)

    return list(await asyncio.gather(*(one(job) for job in jobs)))


def run_probes(
    jobs: Sequence[ProbeJob], *, concurrency: int | None = None, timeout: float | None = None
) -> list[ProbeResult]:
    """Probe ``jobs`` on a fresh event loop and return their results in order (blocking)."""
    if not jobs:
        return []
    if concurrency is None:
        concurrency = settings.DROPCOPY["VERIFY_CONCURRENCY"]
    if timeout is None:
        timeout = settings.DROPCOPY["VERIFY_TIMEOUT_SECONDS"]
    probing = probe_jobs(jobs, concurrency=concurrency, timeout=timeout)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(probing)
    # Called from code that already runs an event loop in this thread (an async caller, or a
    # sync API such as Playwright's): probe on a loop of its own in a helper thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, probing).result()
