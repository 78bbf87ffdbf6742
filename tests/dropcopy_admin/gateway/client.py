"""A small FIX test client for the gateway: real sockets, messages from ``dropcopy_admin.fix``."""

import datetime as dt
import socket
import time

from dropcopy_admin import clock
from dropcopy_admin.fix.framing import FrameError, FrameReader
from dropcopy_admin.fix.messages import (
    Message,
    SessionHeader,
    build_heartbeat,
    build_logon,
    build_resend_request,
    build_test_request,
)


class Closed(Exception):
    """The gateway closed the connection."""


class FixClient:
    def __init__(self, ip: str, port: int, *, sender_comp_id: str, target_sub_id: str, sender_sub_id: str = "MSG"):
        self.sock = socket.create_connection((ip, port), timeout=5)
        self.reader = FrameReader(max_frame_size=1 << 20)
        self.inbox: list[Message] = []
        self.sender_comp_id = sender_comp_id
        self.target_sub_id = target_sub_id
        self.sender_sub_id = sender_sub_id
        self.seq = 1
        self.closed = False

    def header(self, seq: int | None = None, sending_time: dt.datetime | None = None) -> SessionHeader:
        return SessionHeader(
            sender_comp_id=self.sender_comp_id,
            target_comp_id="CME",
            seq_num=self.seq if seq is None else seq,
            sending_time=sending_time or clock.now(),
            sender_sub_id=self.sender_sub_id,
            target_sub_id=self.target_sub_id,
            sender_location_id="US,IL",
            last_msg_seq_num_processed=0,
        )

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, data: bytes) -> None:
        """Send one sequenced message built on ``header()`` and move the sequence on."""
        self.send_raw(data)
        self.seq += 1

    def logon(self, *, key: str, secret: str, heartbeat: int = 30, seq: int | None = None, extra: bytes = b"") -> None:
        if seq is not None:
            self.seq = seq
        raw = build_logon(
            self.header(),
            heartbeat_interval=heartbeat,
            access_key_id=key,
            secret_key=secret,
            application_system_name="TESTCLIENT",
            trading_system_version="1.0",
            application_system_vendor="ACME",
        )
        if extra:  # insert extra fields before the trailer, fixing length and checksum
            raw = reframe(raw, extra)
        self.send(raw)

    def heartbeat(self, test_req_id: str | None = None) -> None:
        self.send(build_heartbeat(self.header(), test_req_id=test_req_id))

    def test_request(self, test_req_id: str) -> None:
        self.send(build_test_request(self.header(), test_req_id=test_req_id))

    def resend_request(self, begin: int, end: int) -> bytes:
        raw = build_resend_request(self.header(), begin_seq_no=begin, end_seq_no=end)
        self.send(raw)
        return raw

    def receive(self, timeout: float = 5) -> Message:
        """The next message from the gateway; ``Closed`` when the connection ends first."""
        deadline = time.monotonic() + timeout
        while not self.inbox:
            if self.closed:
                raise Closed
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no message from the gateway")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except ConnectionError:
                data = b""
            if not data:
                self.closed = True
                continue
            for item in self.reader.feed(data):
                assert not isinstance(item, FrameError), item
                self.inbox.append(Message.parse(item))
        return self.inbox.pop(0)

    def receive_type(self, msg_type: str, timeout: float = 5) -> Message:
        """Skip Heartbeats (and other types) until a ``msg_type`` message arrives."""
        while True:
            message = self.receive(timeout)
            if message.msg_type == msg_type:
                return message

    def wait_closed(self, timeout: float = 5) -> list[Message]:
        """Every message until the gateway closes the connection."""
        seen = []
        while True:
            try:
                seen.append(self.receive(timeout))
            except Closed:
                return seen

    def close(self) -> None:
        self.sock.close()


def reframe(raw: bytes, extra: bytes) -> bytes:
    """``raw`` with ``extra`` fields (``tag=value<SOH>``…) added before CheckSum, re-framed."""
    body = raw[raw.index(b"\x0135=") + 1 : raw.rindex(b"10=")] + extra
    head = b"8=FIX.4.2\x019=" + str(len(body)).encode() + b"\x01"
    frame = head + body
    return frame + b"10=%03d\x01" % (sum(frame) % 256)
