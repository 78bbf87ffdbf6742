"""The connectivity probe (R16): one asyncio FIX 4.2 client session against one target address.

Stages, each bounded by the same timeout: TCP connect; a Logon signed with the target's probe
key and SenderSubID ``PROBE`` (the gateway keeps it apart from the client's session, numbering it
from 1); the Logon answered; a TestRequest answered by a Heartbeat with the same TestReqID (112),
timed from sending to receiving as ``rtt_ms``; a Logout answered (or the connection closed by the
gateway after it). The first stage that does not complete is the failing stage; the probe never
raises. Messages come from ``dropcopy_admin.fix``; the only socket is here.
"""

import asyncio
import secrets
import time
from dataclasses import dataclass
from typing import NamedTuple

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


class StageFailed(NamedTuple):
    """The first stage of a check that did not complete, and why."""

    stage: str
    detail: str


class _ProbeSession(asyncio.Protocol):
    """One check as the gateway's answers drive it, on an asyncio protocol rather than streams.

    Each stage's message is sent when the stage before it is answered, in the callback that
    received the answer, and each stage is bounded by a timer of its own: no task, no
    ``wait_for``, per stage. ``outcome`` resolves once the connection is gone, to the stage that
    failed (with why) or to ``None``.
    """

    def __init__(self, address: ProbeAddress, credentials: ProbeCredentials, timeout: float, connecting: float):
        self.loop = asyncio.get_running_loop()
        self.address = address
        self.credentials = credentials
        self.timeout = timeout
        self.connecting = connecting
        self.outcome: asyncio.Future[StageFailed | None] = self.loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.frames = FrameReader()
        self.seq = 1
        self.stage = "logon"
        self.failure: StageFailed | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.test_req_id = ""
        self.test_request_sent = 0.0
        self.logon_ms: float | None = None
        self.rtt_ms: float | None = None

    # --- the stages -------------------------------------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport
        self._begin("logon")
        self._send(
            build_logon(
                self._header(),
                heartbeat_interval=HEARTBEAT_INTERVAL,
                access_key_id=self.credentials.access_key_id,
                secret_key=self.credentials.secret_key,
                application_system_name=APPLICATION[0],
                trading_system_version=APPLICATION[1],
                application_system_vendor=APPLICATION[2],
            )
        )

    def _on_message(self, message: Message) -> None:
        msg_type = message.msg_type
        if self.stage == "logon":
            if msg_type == "5":
                self._fail(f"logged out: {_logout_text(message)}")
            elif msg_type != "A":
                self._fail(f"expected a Logon (35=A), got 35={msg_type}")
            else:
                self.logon_ms = round((time.perf_counter() - self.connecting) * 1000, 3)
                self._begin("test_request")
                self.test_req_id = f"PROBE-{secrets.token_hex(6)}"
                self.test_request_sent = time.perf_counter()
                self._send(build_test_request(self._header(), test_req_id=self.test_req_id))
        elif self.stage == "test_request":
            if msg_type == "0" and message.get_str(112) == self.test_req_id:
                self.rtt_ms = round((time.perf_counter() - self.test_request_sent) * 1000, 3)
                self._begin("logout")
                self._send(build_logout(self._header()))
            elif msg_type == "5":
                self._fail(f"logged out: {_logout_text(message)}")
            elif msg_type == "1":  # the gateway's own TestRequest: answer it and keep waiting
                self._send(build_heartbeat(self._header(), test_req_id=message.get_str(112)))
        elif self.stage == "logout" and msg_type == "5":
            self._finish()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.stage == "logout":  # the gateway closed the connection after the Logout: done
            self._finish()
        elif self.stage == "logon":
            self._fail("connection closed before the Logon was answered")
        elif self.stage == "test_request":
            self._fail("connection closed before the Heartbeat")
        self._cancel_timer()
        if not self.outcome.done():
            self.outcome.set_result(self.failure)

    # --- receiving ----------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        for item in self.frames.feed(data):
            if self.stage is None:
                return
            if isinstance(item, FrameError):
                self._fail(f"malformed frame from the gateway: {item.reason}")
                return
            try:
                message = Message.parse(item)
            except ValueError as error:
                self._fail(str(error) or type(error).__name__)
                return
            self._on_message(message)

    # --- the session's moves ------------------------------------------------------------------

    def _header(self) -> SessionHeader:
        header = SessionHeader(
            sender_comp_id=self.credentials.sender_comp_id,
            target_comp_id=GATEWAY_COMP_ID,
            seq_num=self.seq,
            sending_time=clock.now(),
            sender_sub_id=PROBE_SENDER_SUB_ID,
            target_sub_id=self.address.target_sub_id,
            sender_location_id="US,IL",
            last_msg_seq_num_processed=0,
        )
        self.seq += 1
        return header

    def _send(self, raw: bytes) -> None:
        if self.stage is not None and not self.transport.is_closing():
            self.transport.write(raw)

    def _begin(self, stage: str) -> None:
        """Start ``stage`` and its timer (the stage before it is answered)."""
        self.stage = stage
        self._cancel_timer()
        self.timer = self.loop.call_later(self.timeout, self._timed_out)

    def _timed_out(self) -> None:
        self.timer = None
        self._fail(f"no answer within {self.timeout:g} s")

    def _fail(self, detail: str) -> None:
        """The current stage failed: remember why and drop the connection (``connection_lost`` follows)."""
        if self.stage is None:
            return
        self.failure = StageFailed(self.stage, detail)
        self._end(self.transport.abort)

    def _finish(self) -> None:
        """The Logout answered: every stage passed; close the connection (``connection_lost`` follows)."""
        if self.stage is not None:
            self._end(self.transport.close)

    def _end(self, close) -> None:
        self.stage = None
        self._cancel_timer()
        close()

    def _cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


def _logout_text(message: Message) -> str:
    return message.get_str(58) or "Logout without a reason"


async def probe_address(address: ProbeAddress, credentials: ProbeCredentials, *, timeout: float) -> ProbeResult:
    """Check one address through every stage of R16; never raises, the result says what failed."""
    checked_at = clock.now()
    connecting = time.perf_counter()
    session = _ProbeSession(address, credentials, timeout, connecting)
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            await loop.create_connection(lambda: session, address.ip, address.port)
    except TimeoutError:
        failure = StageFailed("connect", f"no connection within {timeout:g} s")
    except OSError as error:
        failure = StageFailed("connect", error.strerror or str(error))
    else:
        try:
            failure = await session.outcome
        finally:  # cancelled meanwhile (the batch was): leave no connection open behind
            if not session.transport.is_closing():
                session.transport.abort()
    if failure is not None:
        return ProbeResult(
            address, False, failure.stage, session.rtt_ms, checked_at, failure.detail[:500], session.logon_ms
        )
    return ProbeResult(address, True, None, session.rtt_ms, checked_at, "", session.logon_ms)
