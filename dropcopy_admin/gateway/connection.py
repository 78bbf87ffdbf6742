"""What the gateway's session modules share: one connection's sending side, and its host.

``Connection`` numbers, builds (with ``dropcopy_admin.fix.messages``), stores (client sessions,
R15) and writes the messages of one accepted connection. ``session.Session`` is the FIX state
machine built on it; ``resend``, ``certification`` and ``feed`` work on a ``Connection`` and know
neither the session nor the server. ``SessionHost`` is what a session needs of the gateway that
accepted it (``server.Gateway``), handed to the session rather than imported: imports here point
one way, server → session → resend, certification, feed → connection.
"""

import asyncio
from collections.abc import Callable, Coroutine
from typing import Protocol

from dropcopy_admin import clock
from dropcopy_admin.fix.messages import (
    SessionHeader,
    Value,
    build_acceptor_message,
    build_drop_copy_envelope,
    build_drop_copy_envelopes,
)

from . import store
from .presence import LiveFigures
from .registry import Address

SENDER_COMP_ID = "CME"
SENDER_SUB_ID = "G"

StreamKey = tuple[int, int | None]


class SessionClosed(Exception):
    """The connection is closed: nothing more is sent on it."""


def stream_key(address: Address) -> StreamKey:
    """The sequence stream a client session on ``address`` uses: its target's, per market segment (MSGW)."""
    return (address.target_id, address.market_segment)


class SessionHost(Protocol):
    """What a session needs of the gateway that accepted it."""

    db: store.Database
    figures: LiveFigures  # counted per message, published every few seconds (presence.py)

    def current_address(self, address: Address) -> Address | None: ...

    async def logon_secret(self, *, target_id: int, access_key_id: str, probe: bool, at) -> str | None: ...

    def claim_stream(self, connection: "Connection") -> bool: ...

    def session_logged_on(self, connection: "Connection") -> None: ...

    def session_ended(self, connection: "Connection") -> None: ...


class Connection:
    """One accepted connection's numbering and sending; a client session stores what it sends."""

    def __init__(self, *, address: Address, writer, db: store.Database, figures: LiveFigures) -> None:
        self.address = address
        self.writer = writer
        self.db = db
        self.figures = figures  # messages and bytes written are counted here
        self.probe = False
        self.client_sub_id = ""
        self.state: store.StreamState | None = None  # client sessions only
        self.next_incoming = 1
        self.next_outgoing = 1
        self.last_sent = clock.now()
        self.resending = False  # a ResendRequest of this connection is being answered
        self.closed = False
        self.send_lock = asyncio.Lock()
        self.tasks: set[asyncio.Task] = set()

    @property
    def stream_key(self) -> StreamKey:
        return stream_key(self.address)

    def start_task(self, coroutine: Coroutine) -> None:
        """Run ``coroutine`` beside the connection's own task; it is cancelled when the connection ends."""
        task = asyncio.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # --- building -----------------------------------------------------------------------------

    def header(self, seq: int, now) -> SessionHeader:
        """The standard header of message ``seq`` the gateway sends at ``now``."""
        return SessionHeader(
            sender_comp_id=SENDER_COMP_ID,
            sender_sub_id=SENDER_SUB_ID,
            target_comp_id=self.address.target_comp_id,
            target_sub_id=self.client_sub_id or None,
            seq_num=seq,
            sending_time=now,
            last_msg_seq_num_processed=max(self.next_incoming - 1, 0),
        )

    # --- sending ------------------------------------------------------------------------------

    async def send(self, msg_type: str, body: list[tuple[int, Value]]) -> None:
        """Send one message on the connection's stream; a client session stores it first (R15)."""
        await self._send_built(msg_type, lambda seq, now: build_acceptor_message(msg_type, self.header(seq, now), body))

    async def send_envelope(self, inner: bytes) -> None:
        """Send a drop copy message: ``inner`` (one whole FIX frame) in a 35=n envelope (R19, §1.7)."""
        await self._send_built("n", lambda seq, now: build_drop_copy_envelope(self.header(seq, now), inner=inner))

    async def send_envelopes(self, inners: list[bytes], *, check: bool = True) -> None:
        """Send many drop copy messages at once: numbered, stored in one batch, written in one write.

        ``check=False``: the inner messages come from this product's builders (the synthetic feed),
        so they are not checked again to be valid frames.
        """
        if self.closed:
            raise SessionClosed
        async with self.send_lock:
            if self.closed:
                raise SessionClosed
            now = clock.now()
            first = self.next_outgoing
            envelopes = build_drop_copy_envelopes(self.header(first, now), inners, check=check)
            built = list(enumerate(envelopes, start=first))
            self.next_outgoing = first + len(built)
            if self.state is not None and built:
                await self.db.record_sent_many(  # stored before they are written (R15)
                    state=self.state, msg_type="n", sent=built, sent_at=now, next_incoming=self.next_incoming
                )
            wire = [raw for seq, raw in built if self.writes_envelope(seq)]
            if wire:
                await self.write(b"".join(wire), msg_type="n", messages=len(wire))
                self.last_sent = now

    async def send_unsequenced(self, msg_type: str, body: list[tuple[int, Value]]) -> None:
        """A refusal before the logon is authenticated: sequence number 1, not stored."""
        await self.write(build_acceptor_message(msg_type, self.header(1, clock.now()), body), msg_type=msg_type)

    async def _send_built(self, msg_type: str, build: Callable[[int, object], bytes]) -> None:
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
                committed = self.db.record_sent(  # batched with other sessions' messages, in one transaction
                    state=self.state,
                    seq_num=seq,
                    msg_type=msg_type,
                    raw=raw,
                    sent_at=now,
                    next_incoming=self.next_incoming,
                )
                await committed  # stored before it is written (R15)
            if msg_type == "n" and not self.writes_envelope(seq):
                return  # stored for the resend, never written
            await self.write(raw, msg_type=msg_type)
            self.last_sent = now

    def writes_envelope(self, seq: int) -> bool:
        """Whether envelope ``seq`` goes on the wire once numbered and stored (always, here)."""
        return True

    async def write(self, raw: bytes, *, msg_type: str, messages: int = 1) -> None:
        """Write ``messages`` whole messages of ``msg_type`` (their bytes ``raw``) and count them."""
        try:
            self.writer.write(raw)
            self.figures.sent(msg_type, messages=messages, size=len(raw))
            await self.writer.drain()
        except (ConnectionError, RuntimeError) as error:
            raise SessionClosed from error
