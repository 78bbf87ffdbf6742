"""The gateway's view of FIX bytes: parsing frames into fields and building its own messages.

Built on ``dropcopy_admin.fix`` (tokenising); what the gateway needs beyond those blocks lives
here: first-occurrence lookup of a frame's fields and encoding its own messages with simplefix
(resends use ``fix.messages.mark_as_resent``).
"""

import datetime as dt

import simplefix

from dropcopy_admin.fix.framing import FixParseError
from dropcopy_admin.fix.framing import parse_fields as tokenise

SOH = b"\x01"
BEGIN_STRING = "FIX.4.2"


class Fields:
    """A parsed message: ordered (tag, value) pairs with first-occurrence lookup."""

    def __init__(self, pairs: list[tuple[int, bytes]]) -> None:
        self.pairs = pairs
        self._first: dict[int, bytes] = {}
        for tag, value in pairs:
            self._first.setdefault(tag, value)

    def get(self, tag: int, default: str | None = None) -> str | None:
        value = self._first.get(tag)
        return default if value is None else value.decode("ascii", "replace")

    def has(self, tag: int) -> bool:
        return tag in self._first

    @property
    def msg_type(self) -> str:
        return self.get(35, "")


ParseError = FixParseError


def parse_fields(frame: bytes) -> Fields:
    """A whole frame as fields; data fields (212/213, 355, 1402) may hold SOH."""
    return Fields(tokenise(frame))


def timestamp(at: dt.datetime) -> str:
    """FIX UTCTimestamp with milliseconds."""
    at = at.astimezone(dt.UTC)
    return at.strftime("%Y%m%d-%H:%M:%S.") + f"{at.microsecond // 1000:03d}"


def encode(pairs: list[tuple[int, str | bytes | int]]) -> bytes:
    """Encode ``pairs`` (35 first) with BeginString, BodyLength and CheckSum."""
    message = simplefix.FixMessage()
    message.append_pair(8, BEGIN_STRING, header=True)
    for tag, value in pairs:
        message.append_pair(tag, value, header=tag == 35)
    return message.encode()
