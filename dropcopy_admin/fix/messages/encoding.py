"""The values, the standard header and the encoder every message builder shares.

Encoding frames a message as ``simplefix.FixMessage`` did (8, 9 and 10 filled in); everything simplefix
leaves to us is done here: booleans are ``Y``/``N``, values are checked to be non-empty printable
ASCII with no SOH (``ValueError`` otherwise; R19 allows printable ASCII only), times are UTC
``YYYYMMDD-HH:MM:SS.sss``. The one value allowed to contain SOH is 213 of a ``35=n`` envelope,
whose length travels in 212 (checked by ``envelope.build_drop_copy_envelope``); the one allowed
to be empty is an ``Echoed`` value, the peer's own sent back.
"""

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from .. import tags
from ..framing import SOH, is_printable_ascii


@dataclass(frozen=True)
class Echoed:
    """A value copied from a frame the peer sent, written back as it came, even empty.

    The acceptor echoes some of its peer's values (a TestRequest's 112, a Logon's 108, 141 and
    1603–1605, the MsgType a Reject refers to): they passed the frame reader's checks, and FIX
    peers do send empty ones, so they are only checked for SOH and printable ASCII.
    """

    raw: bytes


Value = str | bytes | int | bool | Decimal | dt.datetime | Echoed | None

_SENDING_TIME_RE = re.compile(r"(\d{8})-(\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}|\d{6}))?")


# --- values ---------------------------------------------------------------------------------


def format_sending_time(moment: dt.datetime) -> str:
    """Format an aware datetime as FIX UTCTimestamp with milliseconds: ``YYYYMMDD-HH:MM:SS.sss``."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("FIX timestamps need an aware datetime")
    utc = moment.astimezone(dt.UTC)
    return (
        f"{utc.year:04d}{utc.month:02d}{utc.day:02d}-{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}."
        f"{utc.microsecond // 1000:03d}"
    )


def parse_sending_time(value: str | bytes) -> dt.datetime:
    """Parse a FIX UTCTimestamp (seconds, milliseconds or microseconds) into an aware UTC datetime."""
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    match = _SENDING_TIME_RE.fullmatch(text)
    if not match:
        raise ValueError(f"not a FIX UTCTimestamp: {text!r}")
    date, hh, mm, ss, frac = match.groups()
    micro = int(frac.ljust(6, "0")) if frac else 0
    return dt.datetime(int(date[:4]), int(date[4:6]), int(date[6:8]), int(hh), int(mm), int(ss), micro, tzinfo=dt.UTC)


def wire_value(tag: int, value: Value) -> bytes:
    """Turn a Python value into the bytes of a FIX field value, refusing what FIX cannot carry."""
    if isinstance(value, Echoed):
        if SOH in value.raw or not is_printable_ascii(value.raw):
            raise ValueError(f"tag {tag}: echoed value must be printable ASCII without SOH")
        return value.raw
    if isinstance(value, bool):
        return b"Y" if value else b"N"
    if isinstance(value, dt.datetime):
        return format_sending_time(value).encode("ascii")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"tag {tag}: {value} is not a FIX price")
        return format(value, "f").encode("ascii")
    if isinstance(value, int):
        return str(value).encode("ascii")
    if isinstance(value, str):
        if not value.isascii():
            raise ValueError(f"tag {tag}: value must be printable ASCII")
        raw = value.encode("ascii")
    elif isinstance(value, bytes):
        raw = value
    else:
        raise TypeError(f"tag {tag}: cannot encode {type(value).__name__}")
    if not raw:
        raise ValueError(f"tag {tag}: FIX values cannot be empty")
    if SOH in raw:
        raise ValueError(f"tag {tag}: value contains SOH")
    if not is_printable_ascii(raw):
        raise ValueError(f"tag {tag}: value must be printable ASCII")
    return raw


# --- header ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionHeader:
    """The standard header fields of one outgoing message.

    ``sender_location_id`` (142) and ``last_msg_seq_num_processed`` (369) are optional header
    fields CME uses; both are part of the signed logon string (§1.5), so a client Logon should
    carry them.
    """

    sender_comp_id: str
    target_comp_id: str
    seq_num: int
    sending_time: dt.datetime
    sender_sub_id: str | None = None
    target_sub_id: str | None = None
    sender_location_id: str | None = None
    last_msg_seq_num_processed: int | None = None

    def pairs(self) -> list[tuple[int, Value]]:
        if self.seq_num < 1:
            raise ValueError("MsgSeqNum starts at 1")
        return [
            (tags.MSG_SEQ_NUM, self.seq_num),
            (tags.SENDER_COMP_ID, self.sender_comp_id),
            (tags.SENDER_SUB_ID, self.sender_sub_id),
            (tags.SENDING_TIME, self.sending_time),
            (tags.TARGET_COMP_ID, self.target_comp_id),
            (tags.TARGET_SUB_ID, self.target_sub_id),
            (tags.SENDER_LOCATION_ID, self.sender_location_id),
            (tags.LAST_MSG_SEQ_NUM_PROCESSED, self.last_msg_seq_num_processed),
        ]

    def acceptor_pairs(self, *, poss_dup: bool = False) -> list[tuple[int, Value]]:
        """The same fields in the order the gateway (the acceptor) writes its session messages.

        Routing first (49, 50, 56, 57), then 34, 43=Y when ``poss_dup`` (a resent gap fill), 52,
        142 and 369. Drop copy envelopes keep the order of :meth:`pairs`.
        """
        if self.seq_num < 1:
            raise ValueError("MsgSeqNum starts at 1")
        return [
            (tags.SENDER_COMP_ID, self.sender_comp_id),
            (tags.SENDER_SUB_ID, self.sender_sub_id),
            (tags.TARGET_COMP_ID, self.target_comp_id),
            (tags.TARGET_SUB_ID, self.target_sub_id),
            (tags.MSG_SEQ_NUM, self.seq_num),
            (tags.POSS_DUP_FLAG, True if poss_dup else None),
            (tags.SENDING_TIME, self.sending_time),
            (tags.SENDER_LOCATION_ID, self.sender_location_id),
            (tags.LAST_MSG_SEQ_NUM_PROCESSED, self.last_msg_seq_num_processed),
        ]


_FRAMING_TAGS = frozenset((tags.BEGIN_STRING, tags.BODY_LENGTH, tags.MSG_TYPE, tags.CHECKSUM))
_BEGIN = f"{tags.BEGIN_STRING}={tags.BEGIN_STRING_FIX42}".encode("ascii") + SOH


def encode_message(
    msg_type: str, header_pairs: Iterable[tuple[int, Value]], body: Iterable[tuple[int, Value]]
) -> bytes:
    """Encode one message: 8 and 35, then the header pairs, then the body; ``None`` values are left out.

    Framing as ``simplefix`` does it (9 and 10 computed; pairs tagged 8, 9, 35 or 10 skipped), in
    one join rather than field by field.
    """
    parts = [b"35=" + wire_value(tags.MSG_TYPE, msg_type)]
    for tag, value in header_pairs:
        if value is not None and tag not in _FRAMING_TAGS:
            parts.append(b"%d=%b" % (tag, wire_value(tag, value)))
    for tag, value in body:
        if value is None or tag in _FRAMING_TAGS:
            continue
        if tag == tags.XML_DATA and isinstance(value, bytes):
            parts.append(b"%d=%b" % (tag, value))  # checked by build_drop_copy_envelope
        else:
            parts.append(b"%d=%b" % (tag, wire_value(tag, value)))
    parts.append(b"")
    rest = SOH.join(parts)
    head = _BEGIN + b"9=%d" % len(rest) + SOH + rest
    return head + b"10=%03d" % (sum(head) % 256) + SOH


def build_message(msg_type: str, header: SessionHeader, body: Iterable[tuple[int, Value]] = ()) -> bytes:
    """Encode one message with ``header``'s standard fields."""
    return encode_message(msg_type, header.pairs(), body)


def build_acceptor_message(
    msg_type: str, header: SessionHeader, body: Iterable[tuple[int, Value]] = (), *, poss_dup: bool = False
) -> bytes:
    """Encode one message the gateway sends, its header in :meth:`SessionHeader.acceptor_pairs` order."""
    return encode_message(msg_type, header.acceptor_pairs(poss_dup=poss_dup), body)
