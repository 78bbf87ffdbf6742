"""Benchmark ``gateway``: the drop copy gateway holding 300 logged-on client sessions for 60 s.

Goal: no missed heartbeat.

A fresh benchmark database (``dropcopy_bench_gateway``, beside ``dropcopy_bench`` so the other
benchmarks may run at the same time) is migrated; a setup child creates 300 provisioned CME CGW
targets on distinct ports of one CGW gateway's loopback addresses, each with a client key pair. The
gateway runs as a child process (``manage.py run_gateway``). This process then logs on 300 asyncio
clients (built on ``dropcopy_admin.fix``: signed logon, HeartBtInt 5), each sending its own
Heartbeats every 5 s and answering TestRequests, and holds them for 60 s. A missed heartbeat is a
gap between two messages of the gateway longer than the interval + 20 % (6 s), or a session the
gateway closed. Figures:

    bench: gateway_300_sessions_missed_heartbeats <n> heartbeats
    bench: gateway_300_sessions_peak_memory <MB> MB      (the gateway's VmHWM)
    bench: gateway_300_sessions_cpu_time <s> s          (the gateway's utime + stime over the 60 s)

Run alone: ``python -m bench.run gateway``.
"""

import asyncio
import json
import os
import sys
import time
from urllib.parse import urlsplit, urlunsplit

from bench.common import (
    bench_database_url,
    child_env,
    create_provisioned_cgw_targets,
    django_setup,
    memory_kb,
    recreate_database,
    run_child,
    running_gateway,
)

SESSIONS = 300
HEARTBEAT = 5
HOLD_SECONDS = 60.0
LATE_AFTER = HEARTBEAT * 1.2
PORT_OFFSET = 6000  # clear of the ports tests and the verify benchmark use
GATEWAY_READY_TIMEOUT = 30.0
LOGON_TIMEOUT = 15.0
DATABASE = "dropcopy_bench_gateway"


def child_setup() -> None:
    """300 provisioned CGW targets with a client key pair each; their logon details as JSON."""
    django_setup()
    from dropcopy_admin.services.audit import SystemActor
    from dropcopy_admin.services.keys import key_pair_create

    targets = create_provisioned_cgw_targets(
        count=SESSIONS, entity_code="BGATEWAY", id_prefix="H", port_offset=PORT_OFFSET
    )
    actor = SystemActor("bench_gateway")
    sessions = []
    for target in targets:
        created = key_pair_create(actor=actor, target=target)
        sessions.append(
            {
                "ip": target.cgw_gateway.primary_ip,
                "backup_ip": target.cgw_gateway.backup_ip,
                "port": target.port,
                "comp_id": target.target_comp_id,
                "key": created.key_pair.access_key_id,
                "secret": created.secret_key,
            }
        )
    print(json.dumps(sessions))


# --- the clients ----------------------------------------------------------------------------


class Client:
    """One logged-on session: sends Heartbeats, answers TestRequests, times the gateway's messages."""

    def __init__(self, details: dict) -> None:
        self.details = details
        self.seq = 1
        self.logged_on = asyncio.Event()
        self.last_from_gateway = 0.0
        self.late = 0
        self.closed_by_gateway = False
        self.holding = False
        self.writer: asyncio.StreamWriter | None = None

    def header(self):
        import datetime as dt

        from dropcopy_admin.fix.messages import SessionHeader

        header = SessionHeader(
            sender_comp_id=self.details["comp_id"],
            target_comp_id="CME",
            seq_num=self.seq,
            sending_time=dt.datetime.now(dt.UTC),
            sender_sub_id="MSG",
            target_sub_id="G",
            sender_location_id="US,IL",
            last_msg_seq_num_processed=0,
        )
        self.seq += 1
        return header

    async def run(self, stop: asyncio.Event) -> None:
        from dropcopy_admin.fix.framing import FrameError, FrameReader
        from dropcopy_admin.fix.messages import Message, build_heartbeat, build_logon

        reader, self.writer = await asyncio.open_connection(self.details["ip"], self.details["port"])
        self.writer.write(
            build_logon(
                self.header(),
                heartbeat_interval=HEARTBEAT,
                access_key_id=self.details["key"],
                secret_key=self.details["secret"],
                application_system_name="BENCH",
                trading_system_version="1.0",
                application_system_vendor="ACME",
            )
        )
        await self.writer.drain()
        frames = FrameReader(max_frame_size=1 << 20)
        sender = asyncio.create_task(self._heartbeats(stop, build_heartbeat))
        try:
            while not stop.is_set():
                read = asyncio.ensure_future(reader.read(65536))
                stopped = asyncio.ensure_future(stop.wait())
                done, _ = await asyncio.wait({read, stopped}, return_when=asyncio.FIRST_COMPLETED)
                if read not in done:
                    read.cancel()
                    break
                stopped.cancel()
                data = read.result()
                if not data:
                    self.closed_by_gateway = not stop.is_set()
                    break
                now = time.monotonic()
                if self.holding and now - self.last_from_gateway > LATE_AFTER:
                    self.late += 1
                self.last_from_gateway = now
                for item in frames.feed(data):
                    if isinstance(item, FrameError):
                        continue
                    message = Message.parse(item)
                    self.received(message, item)
                    if message.msg_type == "A":
                        self.logged_on.set()
                    elif message.msg_type == "1":
                        self.writer.write(build_heartbeat(self.header(), test_req_id=message.get_str(112)))
                    elif message.msg_type == "5":
                        self.closed_by_gateway = not stop.is_set()
        finally:
            sender.cancel()
            self.writer.close()

    def received(self, message, frame: bytes) -> None:
        """Called with every message from the gateway (a subclass may keep some)."""

    async def _heartbeats(self, stop: asyncio.Event, build_heartbeat) -> None:
        await self.logged_on.wait()
        while not stop.is_set():
            await asyncio.sleep(HEARTBEAT)
            self.writer.write(build_heartbeat(self.header()))
            await self.writer.drain()


async def hold_sessions(sessions: list[dict], gateway_pid: int) -> dict:
    stop = asyncio.Event()
    clients = [Client(details) for details in sessions]
    tasks = [asyncio.create_task(client.run(stop)) for client in clients]
    await asyncio.wait_for(asyncio.gather(*(c.logged_on.wait() for c in clients)), LOGON_TIMEOUT)
    started = time.monotonic()
    cpu_before = cpu_seconds(gateway_pid)
    for client in clients:
        client.last_from_gateway = started
        client.holding = True
    await asyncio.sleep(HOLD_SECONDS)
    for client in clients:  # a silence running up to the end counts too
        if time.monotonic() - client.last_from_gateway > LATE_AFTER:
            client.late += 1
        client.holding = False
    cpu = cpu_seconds(gateway_pid) - cpu_before
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "missed": sum(c.late + c.closed_by_gateway for c in clients),
        "cpu": cpu,
        "peak_mb": memory_kb("VmHWM", gateway_pid) / 1024,
    }


# --- measuring the gateway process ----------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (fields 14 and 15 of /proc/<pid>/stat), in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run() -> list[str]:
    url = urlunsplit(urlsplit(bench_database_url())._replace(path="/" + DATABASE))
    recreate_database(url)
    env = child_env(url)
    run_child(["manage.py", "migrate", "--noinput", "-v", "0"], env)
    sessions = json.loads(run_child(["-m", "bench.bench_gateway", "setup"], env).strip().splitlines()[-1])
    listening = [(sessions[0]["ip"], sessions[0]["port"]), (sessions[0]["ip"], sessions[-1]["port"])]
    with running_gateway(env, listening, GATEWAY_READY_TIMEOUT) as gateway_pid:
        measured = asyncio.run(hold_sessions(sessions, gateway_pid))
    return [
        f"bench: gateway_300_sessions_missed_heartbeats {measured['missed']} heartbeats",
        f"bench: gateway_300_sessions_peak_memory {measured['peak_mb']:.1f} MB",
        f"bench: gateway_300_sessions_cpu_time {measured['cpu']:.2f} s",
    ]


if __name__ == "__main__":
    if sys.argv[1:] == ["setup"]:
        child_setup()
    else:
        sys.exit("usage: python -m bench.bench_gateway setup (or run it with python -m bench.run gateway)")
