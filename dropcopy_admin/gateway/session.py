"""One FIX connection to the gateway: logon checks, heartbeats, TestRequests, resends (R14–R16, R19).

A connection starts unauthenticated; its first message must be a Logon that passes every check of
R19, or it gets a Logout saying why and is closed. A client session uses its target's persisted
sequence stream and stores every message it sends; a probe session (SenderSubID ``PROBE``, R16)
has its own numbers from 1, is not stored and never disturbs the client's session. Time is the
product clock: a timer ticks every ``TICK`` seconds and compares against ``clock.now()``. A client
session on an AutoCert+ target also carries the certification checklist (``certification.py``, R9).
ResendRequests are checked and answered by ``resend.py`` (R15). Numbering, building, storing and
writing are ``connection.Connection``'s; the gateway that accepted the connection is its
``SessionHost``, handed in.
"""

import asyncio
import contextlib
import datetime as dt
import logging
import socket

from dropcopy_admin import clock
from dropcopy_admin.fix.framing import FrameError, FrameErrorReason, FrameReader
from dropcopy_admin.fix.messages import Echoed, Message, Value
from dropcopy_admin.fix.signature import verify_logon_signature

from . import certification, resend, store
from .connection import Connection, SessionClosed, SessionHost
from .presence import RefusalReason
from .registry import Address

log = logging.getLogger(__name__)

TICK = 0.1
LOGON_TIMEOUT_SECONDS = 30
MIN_HEARTBEAT, MAX_HEARTBEAT = 5, 60
PROBE_SUB_ID = "PROBE"
ORDER_ENTRY_TYPES = {"D", "F", "G", "H", "q", "s", "AB", "AC", "R", "S", "i"}
ECHOED_ON_LOGON = (108, 141, 1603, 1604, 1605)
TCP_ESTABLISHED = 1  # tcpi_state of Linux's TCP_INFO


class Ticker:
    """One timer per event loop for every session on it: every ``TICK`` it reads the clock once and
    asks each session whether a timeout, Heartbeat or TestRequest is due (one wake-up, not one per
    session)."""

    _by_loop: "dict[asyncio.AbstractEventLoop, Ticker]" = {}

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.sessions: dict[Session, None] = {}  # insertion-ordered set
        self.handle: asyncio.TimerHandle | None = None

    @classmethod
    def of_running_loop(cls) -> "Ticker":
        loop = asyncio.get_running_loop()
        ticker = cls._by_loop.get(loop)
        if ticker is None:
            ticker = cls._by_loop[loop] = cls(loop)
        return ticker

    def add(self, session: "Session") -> None:
        self.sessions[session] = None
        if self.handle is None:
            self.handle = self.loop.call_later(TICK, self._tick)

    def discard(self, session: "Session") -> None:
        self.sessions.pop(session, None)
        if not self.sessions:
            if self.handle is not None:
                self.handle.cancel()
                self.handle = None
            Ticker._by_loop.pop(self.loop, None)

    def _tick(self) -> None:
        self.handle = self.loop.call_later(TICK, self._tick)
        now = clock.now()
        for session in list(self.sessions):
            due_at = session._due_at
            if due_at is not None and now < due_at:
                continue  # nothing can be due yet (most sessions, most ticks): not even a call
            try:
                session.on_tick(now)
            except Exception:  # one session's bug must not stop the others' timers
                log.exception("gateway session timer failed")


class _TimerInput:
    """A session attribute its timer reads. Setting it (through the instance's dict, so reading it
    costs nothing more) makes the session work out again when its timer is next due."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __set__(self, session: "Session", value) -> None:
        session.__dict__[self.name] = value
        session.__dict__["_due_at"] = None


class Session(Connection):
    # What ``_time_is_due`` reads: while none of them changes, nothing is due before ``_due_at``,
    # so each tick costs one comparison for most sessions.
    logged_on = _TimerInput()
    heartbeat = _TimerInput()
    last_sent = _TimerInput()
    last_received = _TimerInput()
    test_request_sent_at = _TimerInput()

    def __init__(self, host: SessionHost, address: Address, reader, writer) -> None:
        super().__init__(address=address, writer=writer, db=host.db, figures=host.figures)
        self.host = host
        self.reader = reader
        self.frames = FrameReader()
        self.logged_on = False
        self.access_key_id = ""
        self.heartbeat = 30
        self.opened_at = clock.now()
        self.last_received = self.opened_at
        self.last_sent = self.opened_at
        self.test_request_sent_at = None
        self.test_request_count = 0
        self.checklist: certification.Checklist | None = None  # AutoCert+ client sessions only (R9)
        self._timing: asyncio.Task | None = None  # the task acting on a due timer, while it runs

    # --- life cycle ---------------------------------------------------------------------------

    async def run(self) -> None:
        ticker = Ticker.of_running_loop()
        ticker.add(self)
        try:
            while not self.closed:
                data = await self.reader.read(65536)
                if not data:
                    break
                items = self.frames.feed(data)
                self.figures.received(len(data), messages=len(items))
                for item in items:
                    if self.closed:
                        break
                    await self._handle(item)
        except (SessionClosed, ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:  # a bug must not take the gateway down: log it and drop the connection
            log.exception("gateway session on %s:%s failed", self.address.ip, self.address.port)
        finally:
            ticker.discard(self)
            if self._timing is not None:
                self._timing.cancel()
            for task in list(self.tasks):
                task.cancel()
            await self._close_transport()

    async def _close_transport(self) -> None:
        self.closed = True
        self.host.session_ended(self)
        with contextlib.suppress(Exception):
            self.writer.close()
            await self.writer.wait_closed()

    def connection_gone(self) -> bool:
        """Whether the client's side of the connection is gone though the session has not ended yet:
        its end of stream or a reset already seen, the transport closing, or the socket no longer
        connected (the client closed it while this session was busy, before it read again)."""
        if self.closed:
            return True
        if self.reader.at_eof() or self.reader.exception() is not None:
            return True
        transport = self.writer.transport
        if transport is None or transport.is_closing():
            return True
        return not _socket_connected(self.writer.get_extra_info("socket"))

    def drop(self) -> None:
        """End the session of a connection whose client is gone, from outside its own task: nothing
        more is sent or read on it, and its stream is free at once. Its own task ends on its next step."""
        if self.closed:
            return
        self.closed = True
        self.host.session_ended(self)
        self.writer.transport.abort()

    async def logout(self, reason: str, extra: tuple = ()) -> None:
        """Send a Logout saying why (and ``extra`` fields) and close the connection."""
        if self.closed:
            return
        with contextlib.suppress(Exception):
            await self.send("5", [*extra, (58, reason)])
        await self._close_transport()

    def kick(self, reason: str) -> None:
        """Log the session out from outside its own task (revoked key, closed target, shutdown)."""
        if not self.closed:
            self.start_task(self.logout(reason))

    def on_tick(self, now) -> None:
        """Called by the loop's ``Ticker`` every ``TICK``: act (in a task) only when something is due."""
        if self.closed or self._timing is not None:
            return
        due_at = self._due_at
        if due_at is None:
            due_at = self._due_at = self._next_due()
        if now < due_at or not self._time_is_due(now):
            return
        self._timing = asyncio.create_task(self._on_time_guarded(now))

    def _next_due(self):
        """The first moment ``_time_is_due`` can answer yes, as the session's timer inputs stand."""
        if not self.logged_on:
            return self.opened_at + dt.timedelta(seconds=LOGON_TIMEOUT_SECONDS)
        interval = dt.timedelta(seconds=self.heartbeat)
        heard = self.test_request_sent_at if self.test_request_sent_at is not None else self.last_received
        return min(self.last_sent, heard) + interval

    def _time_is_due(self, now) -> bool:
        if not self.logged_on:
            return (now - self.opened_at).total_seconds() >= LOGON_TIMEOUT_SECONDS
        interval = self.heartbeat
        if (now - self.last_sent).total_seconds() >= interval:
            return True
        if self.test_request_sent_at is not None:
            return (now - self.test_request_sent_at).total_seconds() >= interval
        return (now - self.last_received).total_seconds() >= interval

    async def _on_time_guarded(self, now) -> None:
        try:
            await self._on_time(now)
        except (SessionClosed, ConnectionError):
            pass
        finally:
            self._timing = None

    async def _on_time(self, now) -> None:
        if not self.logged_on:
            if (now - self.opened_at).total_seconds() >= LOGON_TIMEOUT_SECONDS:
                await self.logout("No Logon received in time")
            return
        interval = self.heartbeat
        if self.test_request_sent_at is not None:
            if (now - self.test_request_sent_at).total_seconds() >= interval:
                self.figures.session_timed_out()
                await self.logout("TestRequest not answered within the heartbeat interval")
                return
        elif (now - self.last_received).total_seconds() >= interval:
            self.figures.heartbeat_missed()
            await self.send_test_request()
        if (now - self.last_sent).total_seconds() >= interval:
            await self.send("0", [])

    async def send_test_request(self) -> None:
        """Send a TestRequest; unanswered for one interval, it closes the session."""
        self.test_request_count += 1
        self.test_request_sent_at = clock.now()
        test_req_id = f"TEST{self.test_request_count}"
        if self.checklist is not None:
            self.checklist.test_request_sent(test_req_id)
        await self.send("1", [(112, test_req_id)])

    # --- sending --------------------------------------------------------------------------------

    def writes_envelope(self, seq: int) -> bool:
        """False once on an AutoCert+ session: the checklist's deliberate gap (R9)."""
        return self.checklist is None or self.checklist.write_envelope(seq)

    async def refuse_logon(self, reason: str, *, why: str) -> None:
        """Answer a logon that fails a check with a Logout saying ``reason``, counted under ``why``
        (a ``RefusalReason``), and close the connection."""
        self.figures.logon_refused(why)
        with contextlib.suppress(SessionClosed):
            await self.send_unsequenced("5", [(58, reason)])
        await self._close_transport()
        raise SessionClosed

    # --- receiving ------------------------------------------------------------------------------

    async def _handle(self, item) -> None:
        self.last_received = clock.now()
        if isinstance(item, FrameError):
            await self._bad_frame(item)
            return
        message = Message.parse(item)  # the reader hands over only frames that tokenise
        if not self.logged_on:
            await self._logon(message)
            return
        await self._in_session(message)

    async def _bad_frame(self, error: FrameError) -> None:
        if error.reason == FrameErrorReason.NON_ASCII:
            reason = "Only printable ASCII is allowed"
        else:
            reason = f"Malformed input ({error.reason}): {error.detail}"
        message = None
        if error.reason in (FrameErrorReason.NON_ASCII, FrameErrorReason.BAD_CHECKSUM):
            with contextlib.suppress(ValueError):
                message = Message.parse(error.data)
        await self._bad_input(reason, message)

    async def _bad_input(self, reason: str, message: Message | None) -> None:
        if not self.logged_on:
            await self.refuse_logon(reason, why=RefusalReason.MALFORMED)
        seq = message.get_str(34) if message is not None else None
        body: list[tuple[int, Value]] = [(58, reason)]
        if seq is not None and seq.isdigit():
            body.insert(0, (45, seq))
            if int(seq) == self.next_incoming:
                self._received(int(seq))
        else:
            body.insert(0, (45, 0))
        await self.send("3", body)

    def _received(self, seq: int) -> None:
        self.next_incoming = seq + 1
        if self.state is not None:
            self.db.save_incoming(state=self.state, next_incoming=self.next_incoming)

    # --- logon (R16, R19) -----------------------------------------------------------------------

    async def _logon(self, logon: Message) -> None:
        address = self.host.current_address(self.address)
        if address is None:
            await self.refuse_logon("This address is not served", why=RefusalReason.NOT_SERVED)
        self.address = address
        if logon.msg_type != "A":
            await self.refuse_logon("The first message must be a Logon (35=A)", why=RefusalReason.NOT_A_LOGON)
        if 122 in logon:
            await self.refuse_logon("OrigSendingTime (122) is not allowed on a Logon", why=RefusalReason.MALFORMED)
        heartbeat = logon.get_str(108) or ""
        if not heartbeat.isdigit() or not MIN_HEARTBEAT <= int(heartbeat) <= MAX_HEARTBEAT:
            await self.refuse_logon("HeartBtInt (108) must be 5-60 seconds", why=RefusalReason.BAD_HEARTBEAT_INTERVAL)
        if logon.get_str(49) != address.target_comp_id:
            await self.refuse_logon("SenderCompID (49) is not this target's", why=RefusalReason.WRONG_SENDER_COMP_ID)
        if logon.get_str(57) != address.target_sub_id:
            await self.refuse_logon(
                f"TargetSubID (57) must be {address.target_sub_id} on this address",
                why=RefusalReason.WRONG_TARGET_SUB_ID,
            )
        seq_text = logon.get_str(34) or ""
        if not seq_text.isdigit() or int(seq_text) < 1:
            await self.refuse_logon("MsgSeqNum (34) is missing or not a positive number", why=RefusalReason.BAD_SEQ_NUM)
        now = clock.now()
        if address.ready_at is not None and now < address.ready_at:
            await self.refuse_logon(
                "The target is not ready yet: no logon before its ready time", why=RefusalReason.NOT_READY
            )
        probe = logon.get_str(50) == PROBE_SUB_ID
        access_key_id = logon.get_str(355) or ""
        secret = await self.host.logon_secret(
            target_id=address.target_id, access_key_id=access_key_id, probe=probe, at=now
        )
        if secret is None:
            await self.refuse_logon("Unknown, revoked or expired Access Key ID (355)", why=RefusalReason.UNKNOWN_KEY)
        if logon.get_str(1400) != "CME-1-SHA-256" or not _signature_holds(logon, secret):
            await self.refuse_logon("Bad logon signature (1402)", why=RefusalReason.BAD_SIGNATURE)
        self.probe = probe
        self.access_key_id = access_key_id
        self.client_sub_id = logon.get_str(50) or ""
        self.heartbeat = int(heartbeat)
        seq = int(seq_text)
        if probe:
            self.next_incoming = seq + 1
            self.next_outgoing = 1
        else:
            if not self.host.claim_stream(self):
                await self.refuse_logon(
                    "A client session is already active on this target", why=RefusalReason.SESSION_ACTIVE
                )
            self.state = await self.db.run(
                store.stream_load, target_id=address.target_id, market_segment=address.market_segment, at=now
            )
            if self.closed:  # dropped meanwhile: its client went and logged on again
                raise SessionClosed
            self.next_incoming = self.state.next_incoming
            self.next_outgoing = self.state.next_outgoing
            if seq < self.next_incoming:
                expected = self.next_incoming
                certification.note_low_logon(self, expected)
                await self.logout(f"MsgSeqNum too low, expecting {expected}", extra=((789, expected),))
                raise SessionClosed
            self.next_incoming = seq + 1
            self.checklist = await certification.checklist_start(
                self, access_key_id=access_key_id, heartbeat=self.heartbeat, seq=seq, at=now
            )
        if self.closed:
            raise SessionClosed
        self.logged_on = True
        self.host.session_logged_on(self)
        echo = [(tag, Echoed(logon.get(tag))) for tag in ECHOED_ON_LOGON if tag in logon]
        await self.send("A", [(98, 0), *echo])
        if self.checklist is not None:
            await self.send_test_request()  # as CME's AutoCert+ does right after a Logon (R9)

    # --- in session -----------------------------------------------------------------------------

    async def _in_session(self, message: Message) -> None:
        seq_text = message.get_str(34) or ""
        if not seq_text.isdigit():
            await self.send("3", [(45, 0), (373, 1), (58, "MsgSeqNum (34) is missing")])
            return
        seq = int(seq_text)
        msg_type = message.msg_type or ""
        poss_dup = message.get_str(43) == "Y"
        if seq < self.next_incoming and not poss_dup and msg_type != "4":
            await self.logout(f"MsgSeqNum too low, expecting {self.next_incoming}")
            raise SessionClosed
        self.test_request_sent_at = None
        if self.checklist is not None:
            in_sequence = seq == self.next_incoming and not poss_dup
            self.checklist.on_message(message, seq, in_sequence=in_sequence, at=self.last_received)
        if msg_type == "4":
            new_seq = message.get_str(36) or ""
            if new_seq.isdigit() and int(new_seq) > seq:
                self._received(int(new_seq) - 1)
            else:
                self._received(seq)
            return
        self._received(max(seq, self.next_incoming - 1))
        if msg_type == "0":
            if not self.probe:
                self.figures.heartbeat_received(self.last_received)
            return
        if msg_type == "1":
            await self.send("0", [(112, Echoed(message.get(112) or b""))])
        elif msg_type == "2":
            self.figures.resend_requested()
            await resend.resend_request(self, message, seq, answered=self._resend_answered)
        elif msg_type == "5":
            await self.logout("Logout acknowledged")
            raise SessionClosed
        elif msg_type == "A":
            await self.send("3", [(45, seq), (372, "A"), (58, "Already logged on")])
        elif msg_type == "3":
            return
        elif msg_type in ORDER_ENTRY_TYPES:
            await self.send(
                "j",
                [(45, seq), (372, msg_type), (380, 3), (58, "Drop Copy is read-only: order entry is not supported")],
            )
        else:
            await self.send(
                "3",
                [(45, seq), (372, Echoed(message.get(35) or b"")), (373, 11), (58, f"Unsupported MsgType {msg_type}")],
            )

    def _resend_answered(self, begin: int, end: int) -> None:
        """The gateway wrote its whole answer to an accepted ResendRequest for ``begin``..``end``."""
        if self.checklist is not None:
            self.checklist.resend_answered(begin, end)


def _socket_connected(sock) -> bool:
    """Whether the kernel still holds ``sock`` as an established TCP connection (no end of stream or
    reset received); True where the system does not say (no ``TCP_INFO``)."""
    if sock is None:
        return False
    tcp_info = getattr(socket, "TCP_INFO", None)
    if tcp_info is None:
        return True
    try:
        return sock.getsockopt(socket.IPPROTO_TCP, tcp_info, 1)[0] == TCP_ESTABLISHED
    except OSError:
        return False


def _signature_holds(logon: Message, secret: str) -> bool:
    """Whether the logon's 1402 signs its canonical fields under ``secret`` (R19, §1.5)."""
    values = logon.first_values()
    try:
        return verify_logon_signature(secret, values, values.get(1402))
    except ValueError:
        return False
