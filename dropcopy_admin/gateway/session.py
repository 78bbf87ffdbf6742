"""One FIX connection to the gateway: logon checks, heartbeats, TestRequests, resends (R14–R16, R19).

A connection starts unauthenticated; its first message must be a Logon that passes every check of
R19, or it gets a Logout saying why and is closed. A client session uses its target's persisted
sequence stream and stores every message it sends; a probe session (SenderSubID ``PROBE``, R16)
has its own numbers from 1, is not stored and never disturbs the client's session. Time is the
product clock: a timer ticks every ``TICK`` seconds and compares against ``clock.now()``. A client
session on an AutoCert+ target also carries the certification checklist (``certification.py``, R9).
ResendRequests are checked and answered by ``resend.py`` (R15).
"""

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from dropcopy_admin import clock
from dropcopy_admin.fix.messages import SessionHeader, build_drop_copy_envelope

from . import certification, resend, store, wire
from .fix_adapter import FrameError, FrameErrorReason, FrameReader, verify_signature
from .registry import Address, logon_secret

if TYPE_CHECKING:
    from .server import Gateway

log = logging.getLogger(__name__)

TICK = 0.1
LOGON_TIMEOUT_SECONDS = 30
MIN_HEARTBEAT, MAX_HEARTBEAT = 5, 60
PROBE_SUB_ID = "PROBE"
ORDER_ENTRY_TYPES = {"D", "F", "G", "H", "q", "s", "AB", "AC", "R", "S", "i"}
ECHOED_ON_LOGON = (108, 141, 1603, 1604, 1605)


class SessionClosed(Exception):
    pass


class Session:
    def __init__(self, gateway: "Gateway", address: Address, reader, writer) -> None:
        self.gateway = gateway
        self.address = address
        self.reader = reader
        self.writer = writer
        self.frames = FrameReader()
        self.logged_on = False
        self.probe = False
        self.access_key_id = ""
        self.client_sub_id = ""
        self.heartbeat = 30
        self.state: store.StreamState | None = None  # client sessions only
        self.next_incoming = 1
        self.next_outgoing = 1
        self.opened_at = clock.now()
        self.last_received = self.opened_at
        self.last_sent = self.opened_at
        self.test_request_sent_at = None
        self.test_request_count = 0
        self.resending = False
        self.checklist: certification.Checklist | None = None  # AutoCert+ client sessions only (R9)
        self.closed = False
        self.send_lock = asyncio.Lock()
        self.tasks: set[asyncio.Task] = set()

    @property
    def stream_key(self) -> tuple[int, int | None]:
        return (self.address.target_id, self.address.market_segment)

    # --- life cycle ---------------------------------------------------------------------------

    async def run(self) -> None:
        ticker = asyncio.create_task(self._tick())
        try:
            while not self.closed:
                data = await self.reader.read(65536)
                if not data:
                    break
                for item in self.frames.feed(data):
                    if self.closed:
                        break
                    await self._handle(item)
        except (SessionClosed, ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:  # a bug must not take the gateway down: log it and drop the connection
            log.exception("gateway session on %s:%s failed", self.address.ip, self.address.port)
        finally:
            ticker.cancel()
            for task in list(self.tasks):
                task.cancel()
            await self._close_transport()

    async def _close_transport(self) -> None:
        self.closed = True
        self.gateway.session_ended(self)
        with contextlib.suppress(Exception):
            self.writer.close()
            await self.writer.wait_closed()

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
            task = asyncio.create_task(self.logout(reason))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _tick(self) -> None:
        while not self.closed:
            await asyncio.sleep(TICK)
            try:
                await self._on_time(clock.now())
            except (SessionClosed, ConnectionError):
                return

    async def _on_time(self, now) -> None:
        if not self.logged_on:
            if (now - self.opened_at).total_seconds() >= LOGON_TIMEOUT_SECONDS:
                await self.logout("No Logon received in time")
            return
        interval = self.heartbeat
        if self.test_request_sent_at is not None:
            if (now - self.test_request_sent_at).total_seconds() >= interval:
                await self.logout("TestRequest not answered within the heartbeat interval")
                return
        elif (now - self.last_received).total_seconds() >= interval:
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

    def header(self, msg_type: str, seq: int, now) -> list[tuple[int, str | int]]:
        """The standard header of a message the gateway sends (35 first), as (tag, value) pairs."""
        header = [
            (35, msg_type),
            (49, "CME"),
            (50, "G"),
            (56, self.address.target_comp_id),
        ]
        if self.client_sub_id:
            header.append((57, self.client_sub_id))
        header += [(34, seq), (52, wire.timestamp(now)), (369, max(self.next_incoming - 1, 0))]
        return header

    async def send(self, msg_type: str, body: list[tuple[int, object]]) -> None:
        """Send one message on the session's stream; a client session stores it first (R15)."""
        await self._send_built(msg_type, lambda seq, now: wire.encode([*self.header(msg_type, seq, now), *body]))

    async def send_envelope(self, inner: bytes) -> None:
        """Send a drop copy message: ``inner`` (one whole FIX frame) in a 35=n envelope (R19, §1.7)."""

        def build(seq: int, now) -> bytes:
            header = SessionHeader(
                sender_comp_id="CME",
                sender_sub_id="G",
                target_comp_id=self.address.target_comp_id,
                target_sub_id=self.client_sub_id or None,
                seq_num=seq,
                sending_time=now,
                last_msg_seq_num_processed=max(self.next_incoming - 1, 0),
            )
            return build_drop_copy_envelope(header, inner=inner)

        await self._send_built("n", build)

    async def _send_built(self, msg_type: str, build) -> None:
        """Number, build (``build(seq, now)`` → bytes), store (client sessions) and write one message."""
        if self.closed:
            raise SessionClosed
        async with self.send_lock:
            if self.closed:
                raise SessionClosed
            now = clock.now()
            seq = self.next_outgoing
            raw = build(seq, now)
            self.next_outgoing += 1
            if self.state is not None:
                await self.gateway.db.run(
                    store.message_record_sent,
                    state=self.state,
                    seq_num=seq,
                    msg_type=msg_type,
                    raw=raw,
                    sent_at=now,
                    next_incoming=self.next_incoming,
                )
            if msg_type == "n" and self.checklist is not None and not self.checklist.write_envelope(seq):
                return  # the AutoCert+ deliberate gap: stored for the resend, never written
            await self._write(raw)
            self.last_sent = now

    async def send_unsequenced(self, msg_type: str, body: list[tuple[int, object]]) -> None:
        """A refusal before the logon is authenticated: sequence number 1, not stored."""
        raw = wire.encode([*self.header(msg_type, 1, clock.now()), *body])
        await self._write(raw)

    async def _write(self, raw: bytes) -> None:
        try:
            self.writer.write(raw)
            await self.writer.drain()
        except (ConnectionError, RuntimeError) as error:
            raise SessionClosed from error

    async def refuse_logon(self, reason: str) -> None:
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
        fields = wire.parse_fields(item)  # the reader hands over only frames that tokenise
        if not self.logged_on:
            await self._logon(fields)
            return
        await self._in_session(fields)

    async def _bad_frame(self, error: FrameError) -> None:
        if error.reason == FrameErrorReason.NON_ASCII:
            reason = "Only printable ASCII is allowed"
        else:
            reason = f"Malformed input ({error.reason}): {error.detail}"
        fields = None
        if error.reason in (FrameErrorReason.NON_ASCII, FrameErrorReason.BAD_CHECKSUM):
            with contextlib.suppress(ValueError):
                fields = wire.parse_fields(error.data)
        await self._bad_input(reason, fields)

    async def _bad_input(self, reason: str, fields: wire.Fields | None) -> None:
        if not self.logged_on:
            await self.refuse_logon(reason)
        seq = fields.get(34) if fields is not None else None
        body: list[tuple[int, object]] = [(58, reason)]
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
            self.gateway.db.submit(store.stream_save_incoming, state=self.state, next_incoming=self.next_incoming)

    # --- logon (R16, R19) -----------------------------------------------------------------------

    async def _logon(self, fields: wire.Fields) -> None:
        address = self.gateway.current_address(self.address)
        if address is None:
            await self.refuse_logon("This address is not served")
        self.address = address
        if fields.msg_type != "A":
            await self.refuse_logon("The first message must be a Logon (35=A)")
        if fields.has(122):
            await self.refuse_logon("OrigSendingTime (122) is not allowed on a Logon")
        heartbeat = fields.get(108, "")
        if not heartbeat.isdigit() or not MIN_HEARTBEAT <= int(heartbeat) <= MAX_HEARTBEAT:
            await self.refuse_logon("HeartBtInt (108) must be 5-60 seconds")
        if fields.get(49) != address.target_comp_id:
            await self.refuse_logon("SenderCompID (49) is not this target's")
        if fields.get(57) != address.target_sub_id:
            await self.refuse_logon(f"TargetSubID (57) must be {address.target_sub_id} on this address")
        seq_text = fields.get(34, "")
        if not seq_text.isdigit() or int(seq_text) < 1:
            await self.refuse_logon("MsgSeqNum (34) is missing or not a positive number")
        now = clock.now()
        if address.ready_at is not None and now < address.ready_at:
            await self.refuse_logon("The target is not ready yet: no logon before its ready time")
        probe = fields.get(50) == PROBE_SUB_ID
        access_key_id = fields.get(355, "")
        secret = await self.gateway.db.run(
            logon_secret, target_id=address.target_id, access_key_id=access_key_id, probe=probe, at=now
        )
        if secret is None:
            await self.refuse_logon("Unknown, revoked or expired Access Key ID (355)")
        if fields.get(1400) != "CME-1-SHA-256" or not verify_signature(fields, secret):
            await self.refuse_logon("Bad logon signature (1402)")
        self.probe = probe
        self.access_key_id = access_key_id
        self.client_sub_id = fields.get(50, "")
        self.heartbeat = int(heartbeat)
        seq = int(seq_text)
        if probe:
            self.next_incoming = seq + 1
            self.next_outgoing = 1
        else:
            if not self.gateway.claim_stream(self):
                await self.refuse_logon("A client session is already active on this target")
            self.state = await self.gateway.db.run(
                store.stream_load, target_id=address.target_id, market_segment=address.market_segment, at=now
            )
            self.next_incoming = self.state.next_incoming
            self.next_outgoing = self.state.next_outgoing
            if seq < self.next_incoming:
                expected = self.next_incoming
                certification.note_low_logon(self, expected)
                await self.logout(f"MsgSeqNum too low, expecting {expected}", extra=((789, expected),))
                raise SessionClosed
            self.next_incoming = seq + 1
            self.checklist = await certification.checklist_start(self, seq=seq, at=now)
        self.logged_on = True
        self.gateway.session_logged_on(self)
        echo = [(tag, fields.get(tag)) for tag in ECHOED_ON_LOGON if fields.has(tag)]
        await self.send("A", [(98, 0), *echo])
        if self.checklist is not None:
            await self.checklist.after_logon()

    # --- in session -----------------------------------------------------------------------------

    async def _in_session(self, fields: wire.Fields) -> None:
        seq_text = fields.get(34, "")
        if not seq_text.isdigit():
            await self.send("3", [(45, 0), (373, 1), (58, "MsgSeqNum (34) is missing")])
            return
        seq = int(seq_text)
        msg_type = fields.msg_type
        if seq < self.next_incoming and fields.get(43) != "Y" and msg_type != "4":
            await self.logout(f"MsgSeqNum too low, expecting {self.next_incoming}")
            raise SessionClosed
        self.test_request_sent_at = None
        if self.checklist is not None:
            in_sequence = seq == self.next_incoming and fields.get(43) != "Y"
            self.checklist.on_message(fields, seq, in_sequence=in_sequence, at=self.last_received)
        if msg_type == "4":
            new_seq = fields.get(36, "")
            if new_seq.isdigit() and int(new_seq) > seq:
                self._received(int(new_seq) - 1)
            else:
                self._received(seq)
            return
        self._received(max(seq, self.next_incoming - 1))
        if msg_type == "0":
            return
        if msg_type == "1":
            await self.send("0", [(112, fields.get(112, ""))])
        elif msg_type == "2":
            await resend.resend_request(self, fields, seq)
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
            await self.send("3", [(45, seq), (372, msg_type), (373, 11), (58, f"Unsupported MsgType {msg_type}")])
