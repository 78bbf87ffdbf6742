"""The floor of one connectivity check on this machine: what asyncio itself costs, with no FIX work.

The same shape as a probe check (a TCP connection, three request/answer round trips — the Logon,
the TestRequest, the Logout — and the acceptor closing), between two processes whose protocols
only count and answer with fixed bytes: no parsing, no signature, no database. The ratio of its
one-by-one time to its concurrent time is the most any asyncio batch of such checks can gain on
this machine, whatever the FIX code does. Used by ``bench_verify``:

    python -m bench.asyncio_floor serve    (the acceptor, a child process: prints the port it listens on)
"""

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from bench.bench_gateway import cpu_seconds

ROUND_TRIPS = 3  # Logon, TestRequest, Logout
REQUEST = b"r" * 300  # about a signed Logon's size
ANSWER = b"a" * 120  # about a Heartbeat's
RUNS = 3  # each figure is the best of this many runs
ROOT = Path(__file__).resolve().parent.parent


class _Acceptor(asyncio.Protocol):
    def connection_made(self, transport) -> None:
        self.transport = transport
        self.answered = 0

    def data_received(self, data: bytes) -> None:
        self.answered += 1
        self.transport.write(ANSWER)
        if self.answered == ROUND_TRIPS:
            self.transport.close()


class _Client(asyncio.Protocol):
    def __init__(self, done: asyncio.Future) -> None:
        self.done = done
        self.answers = 0

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(REQUEST)

    def data_received(self, data: bytes) -> None:
        self.answers += 1
        if self.answers < ROUND_TRIPS:
            self.transport.write(REQUEST)

    def connection_lost(self, exc) -> None:
        if not self.done.done():
            self.done.set_result(self.answers)


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Acceptor, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()


async def _checks(port: int, count: int, concurrency: int) -> list[int]:
    loop = asyncio.get_running_loop()
    bound = asyncio.Semaphore(concurrency)

    async def one() -> int:
        async with bound:
            done = loop.create_future()
            await loop.create_connection(lambda: _Client(done), "127.0.0.1", port)
            return await done

    return await asyncio.gather(*(one() for _ in range(count)))


def measure(*, count: int, concurrency: int) -> dict[str, float]:
    """Seconds for ``count`` checks concurrently and one by one (the best of ``RUNS`` each), and their
    CPU per check (ms, both sides)."""
    acceptor = subprocess.Popen(
        [sys.executable, "-m", "bench.asyncio_floor", "serve"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        listening = acceptor.stdout.readline().strip()
        if not listening.isdigit():
            raise RuntimeError("the floor's acceptor did not start")
        port = int(listening)
        asyncio.run(_checks(port, count, concurrency))  # warm both processes
        figures = {}
        for name, bound in (("concurrent", concurrency), ("one_by_one", 1)):
            runs = [_timed_checks(port, count, bound, acceptor.pid) for _ in range(RUNS)]
            figures[name], cpu = min(runs)  # the best run: a floor
            figures[f"{name}_cpu_ms"] = 1000 * cpu / count
        return figures
    finally:
        acceptor.kill()
        acceptor.wait(timeout=15)


def _timed_checks(port: int, count: int, concurrency: int, acceptor_pid: int) -> tuple[float, float]:
    """Wall seconds and CPU seconds (both processes) of ``count`` checks."""
    wall, cpu, acceptor_cpu = time.perf_counter(), time.process_time(), cpu_seconds(acceptor_pid)
    answers = asyncio.run(_checks(port, count, concurrency))
    if answers != [ROUND_TRIPS] * count:
        raise RuntimeError("the floor's checks did not all complete")
    return time.perf_counter() - wall, time.process_time() - cpu + cpu_seconds(acceptor_pid) - acceptor_cpu


if __name__ == "__main__":
    if sys.argv[1:] != ["serve"]:
        sys.exit("usage: python -m bench.asyncio_floor serve")
    asyncio.run(_serve())
