"""The values, the standard header and the encoder every message builder shares.

Encoding frames a message as ``simplefix.FixMessage`` did (8, 9 and 10 filled in); everything simplefix
leaves to us is done here: booleans are ``Y``/``N``, values are checked to be non-empty printable
ASCII with no SOH (``ValueError`` otherwise; R19 allows printable ASCII only), times are UTC
``YYYYMMDD-HH:MM:SS.sss``. The one value allowed to contain SOH is 213 of a ``35=n`` envelope,
whose length travels in 212 (checked by ``envelope.build_drop_copy_envelope``); the one allowed
to be empty is an ``Echoed`` value, the peer's own sent back.
"""

import datetime as dt
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from .. import tags
from ..framing import SOH, checksum, is_printable_ascii


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
    if moment.tzinfo is dt.UTC:
        return _format_utc(moment)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("FIX timestamps need an aware datetime")
    return _format_utc(moment.astimezone(dt.UTC))


@functools.lru_cache(maxsize=256)
def _format_utc(utc: dt.datetime) -> str:
    # Cached: every message a gateway builds in one burst carries the same SendingTime. Keyed on
    # UTC datetimes only, which compare equal exactly when they are the same instant.
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
    encode = _ENCODERS.get(type(value))
    if encode is not None:
        raw = encode(value)
        if raw is not None:
            return raw
    return _checked_wire_value(tag, value)


_PRINTABLE_TEXT = re.compile(r"[\x20-\x7e]+")
_PRINTABLE_BYTES = re.compile(rb"[\x20-\x7e]+")


def _encode_str(value: str) -> bytes | None:
    return value.encode("ascii") if _PRINTABLE_TEXT.fullmatch(value) else None


def _encode_bytes(value: bytes) -> bytes | None:
    return value if _PRINTABLE_BYTES.fullmatch(value) else None


def _encode_int(value: int) -> bytes:
    return b"%d" % value


def _encode_bool(value: bool) -> bytes:
    return b"Y" if value else b"N"


def _encode_decimal(value: Decimal) -> bytes | None:
    return format(value, "f").encode("ascii") if value.is_finite() else None


def _encode_datetime(value: dt.datetime) -> bytes | None:
    if value.tzinfo is not dt.UTC:
        return None
    return _format_utc(value).encode("ascii")


# The usual types, encoded without the isinstance chain of ``_checked_wire_value``; an encoder
# returns ``None`` for a value it does not accept, and the checked path then words the refusal.
_ENCODERS = {
    str: _encode_str,
    bytes: _encode_bytes,
    int: _encode_int,
    bool: _encode_bool,
    Decimal: _encode_decimal,
    dt.datetime: _encode_datetime,
}


def _checked_wire_value(tag: int, value: Value) -> bytes:
    """:func:`wire_value` for any value, with every check spelled out."""
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

    def fields_text(self) -> str | None:
        """:meth:`pairs` as text, ``<tag>=<value>`` and SOH for each field, byte for byte what the
        encoder writes; ``None`` when some value is not a plain one (then the checked path encodes,
        or words the refusal). The templated builders' header."""
        if not self._plain():
            return None
        text = f"34={self.seq_num}\x0149={self.sender_comp_id}\x01"
        if self.sender_sub_id is not None:
            text += f"50={self.sender_sub_id}\x01"
        text += f"52={_format_utc(self.sending_time)}\x0156={self.target_comp_id}\x01"
        if self.target_sub_id is not None:
            text += f"57={self.target_sub_id}\x01"
        return text + self._trailing_text()

    def acceptor_fields_text(self, *, poss_dup: bool = False) -> str | None:
        """:meth:`acceptor_pairs` as text, as :meth:`fields_text` is :meth:`pairs`."""
        if not self._plain():
            return None
        text = f"49={self.sender_comp_id}\x01"
        if self.sender_sub_id is not None:
            text += f"50={self.sender_sub_id}\x01"
        text += f"56={self.target_comp_id}\x01"
        if self.target_sub_id is not None:
            text += f"57={self.target_sub_id}\x01"
        text += f"34={self.seq_num}\x01"
        if poss_dup:
            text += "43=Y\x01"
        return text + f"52={_format_utc(self.sending_time)}\x01" + self._trailing_text()

    def _trailing_text(self) -> str:
        """142 and 369, the fields both orders end with."""
        text = ""
        if self.sender_location_id is not None:
            text += f"142={self.sender_location_id}\x01"
        if self.last_msg_seq_num_processed is not None:
            text += f"369={self.last_msg_seq_num_processed}\x01"
        return text

    def _plain(self) -> bool:
        """Whether every value is one the text templates write as it is: whole numbers, a UTC time,
        plain text (:func:`plain_texts`). ``ValueError`` for a MsgSeqNum below 1."""
        seq, last, moment = self.seq_num, self.last_msg_seq_num_processed, self.sending_time
        if type(seq) is not int or type(moment) is not dt.datetime or moment.tzinfo is not dt.UTC:
            return False
        if seq < 1:
            raise ValueError("MsgSeqNum starts at 1")
        if last is not None and type(last) is not int:
            return False
        optional = (self.sender_sub_id, self.target_sub_id, self.sender_location_id)
        return plain_texts([self.sender_comp_id, self.target_comp_id, *(text for text in optional if text is not None)])

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
_TAG_PREFIXES = {tag: b"%d=" % tag for tag in vars(tags).values() if type(tag) is int}
"""``b"<tag>="`` of every tag ``tags`` names; others are formatted as they come."""


def encode_message(
    msg_type: str, header_pairs: Iterable[tuple[int, Value]], body: Iterable[tuple[int, Value]]
) -> bytes:
    """Encode one message: 8 and 35, then the header pairs, then the body; ``None`` values are left out.

    Framing as ``simplefix`` does it (9 and 10 computed; pairs tagged 8, 9, 35 or 10 skipped), in
    one join rather than field by field.
    """
    header_pairs, body = list(header_pairs), list(body)
    try:
        parts = _encode_fields(msg_type, header_pairs, body, check_each=False)
    except (ValueError, TypeError):
        parts = None
    if parts is None:  # some value is refused: encode field by field to say which, in field order
        parts = _encode_fields(msg_type, header_pairs, body, check_each=True)
    parts.append(b"")
    return frame_body(SOH.join(parts))


_PRINTABLE_TEXTS = re.compile(r"[\x20-\x7e]*")


def plain_texts(texts: list) -> bool:
    """Whether every value of ``texts`` is a ``str`` the encoder writes as it is: not empty,
    printable ASCII (no SOH). The templated builders check their text values with it at once."""
    try:
        joined = "".join(texts)
    except TypeError:  # not all text
        return False
    return "" not in texts and _PRINTABLE_TEXTS.fullmatch(joined) is not None


def frame_body(body: bytes) -> bytes:
    """The whole frame around ``body`` (``35=…`` to the SOH before 10): 8 and 9 before, 10 after."""
    head = _BEGIN + b"9=%d" % len(body) + SOH + body
    return head + b"10=%03d" % checksum(head) + SOH


def _encode_fields(
    msg_type: str, header_pairs: list[tuple[int, Value]], body: list[tuple[int, Value]], *, check_each: bool
) -> list[bytes] | None:
    """Encode the fields after 9 as ``b"<tag>=<value>"``.

    Text values, most of any message, are checked together at the end unless ``check_each``:
    ``None`` if one is empty or not printable ASCII (SOH is not printable).
    """
    texts: list[str] = []
    parts = [b"35=" + wire_value(tags.MSG_TYPE, msg_type)]
    for pairs, in_body in ((header_pairs, False), (body, True)):
        for tag, value in pairs:
            if value is None or tag in _FRAMING_TAGS:
                continue
            prefix = _TAG_PREFIXES.get(tag) or b"%d=" % tag
            kind = type(value)
            if kind is str and not check_each:
                texts.append(value)
                parts.append(prefix + value.encode("ascii"))
            elif kind is int:
                parts.append(b"%b%d" % (prefix, value))
            elif in_body and tag == tags.XML_DATA and isinstance(value, bytes):
                parts.append(prefix + value)  # checked by build_drop_copy_envelope
            else:
                parts.append(prefix + wire_value(tag, value))
    if texts and not (all(texts) and _PRINTABLE_TEXTS.fullmatch("".join(texts))):
        return None
    return parts


def build_message(msg_type: str, header: SessionHeader, body: Iterable[tuple[int, Value]] = ()) -> bytes:
    """Encode one message with ``header``'s standard fields (from text when it can, as
    :func:`build_acceptor_message` does)."""
    body = list(body)
    return _from_text(msg_type, header.fields_text(), body) or encode_message(msg_type, header.pairs(), body)


def build_acceptor_message(
    msg_type: str, header: SessionHeader, body: Iterable[tuple[int, Value]] = (), *, poss_dup: bool = False
) -> bytes:
    """Encode one message the gateway sends, its header in :meth:`SessionHeader.acceptor_pairs` order.

    Written from text when every value is a plain one, else by the field-by-field encoder, which
    words any refusal; the bytes are the same either way.
    """
    body = list(body)
    return _from_text(msg_type, header.acceptor_fields_text(poss_dup=poss_dup), body) or encode_message(
        msg_type, header.acceptor_pairs(poss_dup=poss_dup), body
    )


def _from_text(msg_type: str, head: str | None, body: list[tuple[int, Value]]) -> bytes | None:
    """The whole message from the header's text and the body's (:func:`_plain_body_text`); ``None``
    when either has a value the text cannot carry as it is."""
    if head is None:
        return None
    fields = _plain_body_text(body)
    if fields is None or not plain_texts([msg_type]):
        return None
    return frame_body(f"35={msg_type}\x01{head}{fields}".encode("ascii"))


_PRINTABLE_ECHO = re.compile(rb"[\x20-\x7e]*")


def _plain_body_text(body: Iterable[tuple[int, Value]]) -> str | None:
    """The body's fields as text, as the encoder writes them, when every value is plain text, a
    whole number, a flag, a UTC time or an echoed value of printable ASCII; ``None`` otherwise (the
    field-by-field encoder then writes or refuses it)."""
    texts = []
    parts = []
    for tag, value in body:
        kind = type(value)
        if value is None or tag in _FRAMING_TAGS:
            continue
        if kind is str:
            texts.append(value)
        elif kind is int:
            pass
        elif kind is bool:
            value = "Y" if value else "N"
        elif kind is Echoed:
            if not _PRINTABLE_ECHO.fullmatch(value.raw):
                return None
            value = value.raw.decode("ascii")
        elif kind is dt.datetime and value.tzinfo is dt.UTC:
            value = _format_utc(value)
        else:
            return None
        parts.append(f"{tag}={value}\x01")
    return "".join(parts) if plain_texts(texts) else None
