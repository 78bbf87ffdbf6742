"""Benchmark ``fanout``: the gateway's synthetic feed sending execution reports to 300 logged-on sessions.

The set-up of ``bench_gateway`` (300 provisioned CGW targets, a client key each, the gateway as a
``manage.py run_gateway`` child, 300 asyncio clients with HeartBtInt 5 answering TestRequests)
on a database of its own. Once every client is logged on, a child queues one ``FeedRequest`` of
``PER_SESSION`` messages per target (what ``manage.py feed_synthetic`` writes) at an unbounded
rate; the figure is the envelopes every client received, divided by the time from the moment the
requests were committed to the last one received — stored for resend, sequenced, in ``35=n``
envelopes.

Baseline, in the same run: raw asyncio socket writes of the same bytes (every envelope the
clients received, per session) to 300 sessions on loopback, read by the same kind of clients (the
frames split and every message parsed, as the benchmark's FIX clients do; the clients share the
machine's two cores with the sender in both runs). A second line compares with clients that only
read the bytes (the socket's own floor). A missed heartbeat is counted as in ``bench_gateway`` (a
silence longer than 6 s, or a session the gateway closed). Output:

    bench: gateway_fanout <msgs/s> msgs/s baseline <raw msgs/s> msgs/s ratio <x>
    bench: gateway_fanout_vs_bytes_only <msgs/s> msgs/s baseline <bytes-only msgs/s> msgs/s ratio <x>
    bench: gateway_fanout_missed_heartbeats <n> heartbeats

Then the same on a fresh world served as production serves it, by two gateway processes that split
the addresses (``--only`` the primary, ``--only`` the backup; every other client logs on to its
target's backup address), beside the raw writes of that run's bytes:

    bench: gateway_fanout_two_processes <msgs/s> msgs/s baseline <raw msgs/s> msgs/s ratio <x>
    bench: gateway_fanout_two_processes_missed_heartbeats <n> heartbeats
"""

import asyncio
import contextlib
import json
import sys
import time
from urllib.parse import urlsplit, urlunsplit

from bench import bench_gateway
from bench.common import bench_database_url, child_env, django_setup, recreate_database, run_child, running_gateway

PER_SESSION = 1000  # 300,000 messages: the steady state, not the gateway's half-second pickup of the requests
PORT_OFFSET = 8000  # clear of the ports tests and the other gateway benchmarks use
DATABASE = "dropcopy_bench_fanout"
DELIVERY_TIMEOUT = 120.0


def child_queue() -> None:
    """One feed request of ``PER_SESSION`` messages per target, unbounded rate."""
    django_setup()
    from dropcopy_admin import clock
    from dropcopy_admin.gateway.store import feed_request_queue
    from dropcopy_admin.models import TargetSession

    at = clock.now()
    for n, target_id in enumerate(TargetSession.objects.order_by("pk").values_list("pk", flat=True)):
        feed_request_queue(target_id=target_id, count=PER_SESSION, seed=n, rate_per_second=1_000_000.0, at=at)
    print(json.dumps({"queued_at": time.time()}))  # every request committed (autocommit)


class FeedClient(bench_gateway.Client):
    """A ``bench_gateway`` client that also keeps every envelope (35=n) it receives."""

    def __init__(self, details: dict) -> None:
        super().__init__(details)
        self.envelopes: list[bytes] = []
        self.all_received = asyncio.Event()
        self.all_received_at = 0.0  # wall clock, to compare with the queueing child's

    def received(self, message, frame: bytes) -> None:
        if message.msg_type == "n":
            self.envelopes.append(frame)
            if len(self.envelopes) == PER_SESSION:
                self.all_received_at = time.time()
                self.all_received.set()


async def feed_sessions(sessions: list[dict], env: dict[str, str]) -> dict:
    stop = asyncio.Event()
    clients = [FeedClient(details) for details in sessions]
    tasks = [asyncio.create_task(client.run(stop)) for client in clients]
    await asyncio.wait_for(asyncio.gather(*(c.logged_on.wait() for c in clients)), bench_gateway.LOGON_TIMEOUT)
    for client in clients:
        client.last_from_gateway = time.monotonic()
        client.holding = True
    loop = asyncio.get_running_loop()
    output = await loop.run_in_executor(None, run_child, ["-m", "bench.bench_fanout", "queue"], env)
    queued_at = json.loads(output.strip().splitlines()[-1])["queued_at"]
    await asyncio.wait_for(asyncio.gather(*(c.all_received.wait() for c in clients)), DELIVERY_TIMEOUT)
    elapsed = max(c.all_received_at for c in clients) - queued_at
    for client in clients:
        if time.monotonic() - client.last_from_gateway > bench_gateway.LATE_AFTER:
            client.late += 1
        client.holding = False
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    received = sum(len(c.envelopes) for c in clients)
    return {
        "rate": received / elapsed,
        "missed": sum(c.late + c.closed_by_gateway for c in clients),
        "late": sum(c.late for c in clients),
        "payloads": [c.envelopes[:PER_SESSION] for c in clients],
    }


async def raw_writes(payloads: list[list[bytes]], *, parse: bool) -> float:
    """Messages a second of plain asyncio writes of ``payloads`` (one list per session) on loopback:
    one ``write`` per message, as the gateway writes. With ``parse`` each client reads as the
    benchmark's FIX clients do (frames split, every message parsed); without, it only reads bytes."""
    from dropcopy_admin.fix.framing import FrameReader
    from dropcopy_admin.fix.messages import Message

    total = sum(len(p) for p in payloads)
    accepted: asyncio.Queue = asyncio.Queue()

    async def accept(reader, writer) -> None:
        await accepted.put(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0, backlog=len(payloads))
    port = server.sockets[0].getsockname()[1]

    async def client(messages: list[bytes]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        if parse:
            frames, received = FrameReader(max_frame_size=1 << 20), 0
            while received < len(messages):
                data = await reader.read(65536)
                if not data:
                    raise ConnectionError("the raw sender closed early")
                for item in frames.feed(data):
                    Message.parse(item)
                    received += 1
        else:
            await reader.readexactly(sum(len(m) for m in messages))
        writer.close()

    readers = [asyncio.create_task(client(messages)) for messages in payloads]
    writers = [await accepted.get() for _ in payloads]

    async def send(writer, messages: list[bytes]) -> None:
        for message in messages:
            writer.write(message)
        await writer.drain()

    started = time.perf_counter()
    await asyncio.gather(*(send(w, m) for w, m in zip(writers, payloads, strict=True)))
    await asyncio.wait_for(asyncio.gather(*readers), DELIVERY_TIMEOUT)
    elapsed = time.perf_counter() - started
    for writer in writers:
        writer.close()
    server.close()
    return total / elapsed


def measure(*, processes: int) -> dict:
    """The fan-out on a fresh world, served by one gateway process or by two that split it (the
    production topology: ``--only`` the primary address, ``--only`` the backup; every other client
    logs on to its target's backup address)."""
    url = urlunsplit(urlsplit(bench_database_url())._replace(path="/" + DATABASE))
    recreate_database(url)
    env = child_env(url)
    run_child(["manage.py", "migrate", "--noinput", "-v", "0"], env)
    sessions = json.loads(run_child(["-m", "bench.bench_fanout", "setup"], env).strip().splitlines()[-1])
    ports = (sessions[0]["port"], sessions[-1]["port"])
    primary, backup = sessions[0]["ip"], sessions[0]["backup_ip"]
    with contextlib.ExitStack() as gateways:
        if processes == 1:
            served = {"": [primary]}
        else:
            served = {primary: [primary], backup: [backup]}
            for details in sessions[1::2]:
                details["ip"] = backup
        for only, ips in served.items():
            listening = [(ip, port) for ip in ips for port in ports]
            gateways.enter_context(running_gateway(env, listening, bench_gateway.GATEWAY_READY_TIMEOUT, only=only))
        return asyncio.run(feed_sessions(sessions, env))


def run() -> list[str]:
    measured = measure(processes=1)
    baseline = asyncio.run(raw_writes(measured["payloads"], parse=True))
    bare = asyncio.run(raw_writes(measured["payloads"], parse=False))
    rate = measured["rate"]
    split = measure(processes=2)
    split_baseline = asyncio.run(raw_writes(split["payloads"], parse=True))
    split_rate = split["rate"]
    return [
        f"bench: gateway_fanout {rate:.0f} msgs/s baseline {baseline:.0f} msgs/s ratio {rate / baseline:.2f}",
        f"bench: gateway_fanout_vs_bytes_only {rate:.0f} msgs/s baseline {bare:.0f} msgs/s ratio {rate / bare:.3f}",
        f"bench: gateway_fanout_missed_heartbeats {measured['missed']} heartbeats",
        f"bench: gateway_fanout_two_processes {split_rate:.0f} msgs/s baseline {split_baseline:.0f} msgs/s "
        f"ratio {split_rate / split_baseline:.2f}",
        f"bench: gateway_fanout_two_processes_missed_heartbeats {split['missed']} heartbeats",
    ]


if __name__ == "__main__":
    command = sys.argv[1:]
    if command == ["setup"]:
        bench_gateway.PORT_OFFSET = PORT_OFFSET
        bench_gateway.child_setup()
    elif command == ["queue"]:
        child_queue()
    else:
        sys.exit("usage: python -m bench.bench_fanout setup | queue (or run it with python -m bench.run fanout)")
