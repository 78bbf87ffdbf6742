"""The connectivity probe (R16): one asyncio FIX 4.2 client session against one target address.

Stages, each bounded by the same timeout: TCP connect; a Logon signed with the target's probe
key and SenderSubID ``PROBE`` (the gateway keeps it apart from the client's session, numbering it
from 1); the Logon answered; a TestRequest answered by a Heartbeat with the same TestReqID (112),
timed from sending to receiving as ``rtt_ms``; a Logout answered (or the connection closed by the
gateway after it). The first stage that does not complete is the failing stage; the probe never
raises. Messages come from ``dropcopy_admin.fix``; the only socket is here.
"""

import asyncio
import contextlib
import secrets
import time
from dataclasses import dataclass

from dropcopy_admin import clock
from dropcopy_admin.fix.framing import FrameError, FrameReader
from dropcopy_admin.fix.messages import (
    Message,
    SessionHeader,
    build_heartbeat,
    build_logon,
    build_logout,
    build_test_request,
)

PROBE_SENDER_SUB_ID = "PROBE"
GATEWAY_COMP_ID = "CME"
HEARTBEAT_INTERVAL = 30
APPLICATION = ("DROPCOPYPROBE", "1.0", "DROPCOPYMGR")  # 1603, 1604, 1605


@dataclass(frozen=True)
class ProbeAddress:
    ip: str
    port: int
    role: str
    market_segment: int | None
    target_sub_id: str


@dataclass(frozen=True)
class ProbeCredentials:
    """Who the probe logs on as: the target's SenderCompID and its probe key pair (R16)."""

    sender_comp_id: str
    access_key_id: str
    secret_key: str

    def __repr__(self) -> str:  # never show the secret
        return f"ProbeCredentials({self.sender_comp_id!r}, {self.access_key_id!r})"


@dataclass(frozen=True)
class ProbeResult:
    address: ProbeAddress
    ok: bool
    stage: str | None  # "connect" | "logon" | "test_request" | "logout" | None when ok
    rtt_ms: float | None
    checked_at: object  # an aware datetime from the product clock
    detail: str
    logon_ms: float | None = None  # connecting → the Logon answered (time to logon)


class StageFailed(Exception):
    def __init__(self, stage: str, detail: str) -> None:
        super().__init__(detail)
        self.stage = stage
        self.detail = detail


class _Connection:
    """Frames in, sequenced messages out, on one asyncio stream."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.frames = FrameReader()
        self.inbox: list[Message] = []
        self.seq = 1

    def header(self, credentials: ProbeCredentials, address: ProbeAddress) -> SessionHeader:
        header = SessionHeader(
            sender_comp_id=credentials.sender_comp_id,
            target_comp_id=GATEWAY_COMP_ID,
            seq_num=self.seq,
            sending_time=clock.now(),
            sender_sub_id=PROBE_SENDER_SUB_ID,
            target_sub_id=address.target_sub_id,
            sender_location_id="US,IL",
            last_msg_seq_num_processed=0,
        )
        self.seq += 1
        return header

    async def send(self, raw: bytes) -> None:
        self.writer.write(raw)
        await self.writer.drain()

    async def receive(self) -> Message | None:
        """The next message, or ``None`` when the gateway closed the connection."""
        while not self.inbox:
            try:
                data = await self.reader.read(65536)
            except ConnectionError:
                data = b""
            if not data:
                return None
            for item in self.frames.feed(data):
                if isinstance(item, FrameError):
                    raise ValueError(f"malformed frame from the gateway: {item.reason}")
                self.inbox.append(Message.parse(item))
        return self.inbox.pop(0)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()
            await self.writer.wait_closed()


async def _stage(stage: str, awaitable, timeout: float):
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except StageFailed:
        raise
    except TimeoutError as error:
        raise StageFailed(stage, f"no answer within {timeout:g} s") from error
    except (OSError, ValueError) as error:
        raise StageFailed(stage, str(error) or type(error).__name__) from error


def _logout_text(message: Message) -> str:
    return message.get_str(58) or "Logout without a reason"


async def _await_logon(connection: _Connection) -> None:
    message = await connection.receive()
    if message is None:
        raise StageFailed("logon", "connection closed before the Logon was answered")
    if message.msg_type == "5":
        raise StageFailed("logon", f"logged out: {_logout_text(message)}")
    if message.msg_type != "A":
        raise StageFailed("logon", f"expected a Logon (35=A), got 35={message.msg_type}")


async def _await_heartbeat(connection: _Connection, credentials, address, test_req_id: str) -> None:
    while True:
        message = await connection.receive()
        if message is None:
            raise StageFailed("test_request", "connection closed before the Heartbeat")
        if message.msg_type == "0" and message.get_str(112) == test_req_id:
            return
        if message.msg_type == "5":
            raise StageFailed("test_request", f"logged out: {_logout_text(message)}")
        if message.msg_type == "1":  # the gateway's own TestRequest: answer it and keep waiting
            await connection.send(
                build_heartbeat(connection.header(credentials, address), test_req_id=message.get_str(112))
            )


async def _await_logout(connection: _Connection) -> None:
    while True:
        message = await connection.receive()
        if message is None or message.msg_type == "5":
            return


async def probe_address(address: ProbeAddress, credentials: ProbeCredentials, *, timeout: float) -> ProbeResult:
    """Check one address through every stage of R16; never raises, the result says what failed."""
    checked_at = clock.now()
    rtt_ms = logon_ms = None
    connection = None
    connecting = time.perf_counter()
    try:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(address.ip, address.port), timeout)
        except TimeoutError as error:
            raise StageFailed("connect", f"no connection within {timeout:g} s") from error
        except OSError as error:
            raise StageFailed("connect", error.strerror or str(error)) from error
        connection = _Connection(reader, writer)

        logon = build_logon(
            connection.header(credentials, address),
            heartbeat_interval=HEARTBEAT_INTERVAL,
            access_key_id=credentials.access_key_id,
            secret_key=credentials.secret_key,
            application_system_name=APPLICATION[0],
            trading_system_version=APPLICATION[1],
            application_system_vendor=APPLICATION[2],
        )
        await _stage("logon", connection.send(logon), timeout)
        await _stage("logon", _await_logon(connection), timeout)
        logon_ms = round((time.perf_counter() - connecting) * 1000, 3)

        test_req_id = f"PROBE-{secrets.token_hex(6)}"
        request = build_test_request(connection.header(credentials, address), test_req_id=test_req_id)
        started = time.perf_counter()
        await _stage("test_request", connection.send(request), timeout)
        await _stage("test_request", _await_heartbeat(connection, credentials, address, test_req_id), timeout)
        rtt_ms = round((time.perf_counter() - started) * 1000, 3)

        await _stage("logout", connection.send(build_logout(connection.header(credentials, address))), timeout)
        await _stage("logout", _await_logout(connection), timeout)
    except StageFailed as failure:
        return ProbeResult(address, False, failure.stage, rtt_ms, checked_at, failure.detail[:500], logon_ms)
    finally:
        if connection is not None:
            await connection.close()
    return ProbeResult(address, True, None, rtt_ms, checked_at, "", logon_ms)
