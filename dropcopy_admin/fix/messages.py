"""Building FIX 4.2 drop copy messages as bytes, and reading them back.

Pure functions from values to bytes and back (house style): no sockets, no clock, no database.
Encoding goes through ``simplefix.FixMessage`` (which fills in 8, 9 and 10); everything simplefix
leaves to us is done here: booleans are ``Y``/``N``, values are checked to be non-empty printable
ASCII with no SOH (``ValueError`` otherwise; R19 allows printable ASCII only), times are UTC
``YYYYMMDD-HH:MM:SS.sss``. The one value allowed to contain SOH is 213 of a ``35=n`` envelope,
whose length travels in 212.
"""

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

import simplefix

from . import tags
from .framing import SOH, FixParseError, check_frame, is_printable_ascii, parse_fields
from .signature import sign_logon
from .tags import MsgType

__all__ = [
    "RTRF_CLOSE",
    "RTRF_OPEN",
    "ExecKind",
    "ExecutionReport",
    "FixParseError",
    "Message",
    "SessionHeader",
    "build_business_message_reject",
    "build_drop_copy_envelope",
    "build_execution_report",
    "build_heartbeat",
    "build_logon",
    "build_logon_response",
    "build_logout",
    "build_reject",
    "build_resend_request",
    "build_sequence_reset_gap_fill",
    "build_test_request",
    "envelope_payload",
    "format_sending_time",
    "mark_as_resent",
    "parse_fields",
    "parse_sending_time",
]

RTRF_OPEN = b"<RTRF>"
RTRF_CLOSE = b"</RTRF>"
MAX_ENVELOPE_DATA = 8000
"""Largest 213 XMLData CME documents (domain-reference §1.7)."""

Value = str | bytes | int | bool | Decimal | dt.datetime | None

_SENDING_TIME_RE = re.compile(r"(\d{8})-(\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}|\d{6}))?")
_NEVER_RESENT = frozenset(tags.ADMIN_MSG_TYPES - {MsgType.REJECT})
"""Session messages answered with a gap fill instead of being resent (FIX 4.2 resend rules)."""


# --- values ---------------------------------------------------------------------------------


def format_sending_time(moment: dt.datetime) -> str:
    """Format an aware datetime as FIX UTCTimestamp with milliseconds: ``YYYYMMDD-HH:MM:SS.sss``."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("FIX timestamps need an aware datetime")
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y%m%d-%H:%M:%S.") + f"{utc.microsecond // 1000:03d}"


def parse_sending_time(value: str | bytes) -> dt.datetime:
    """Parse a FIX UTCTimestamp (seconds, milliseconds or microseconds) into an aware UTC datetime."""
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    match = _SENDING_TIME_RE.fullmatch(text)
    if not match:
        raise ValueError(f"not a FIX UTCTimestamp: {text!r}")
    date, hh, mm, ss, frac = match.groups()
    micro = int(frac.ljust(6, "0")) if frac else 0
    return dt.datetime(int(date[:4]), int(date[4:6]), int(date[6:8]), int(hh), int(mm), int(ss), micro, tzinfo=dt.UTC)


def _wire_value(tag: int, value: Value) -> bytes:
    """Turn a Python value into the bytes of a FIX field value, refusing what FIX cannot carry."""
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


def _encode(msg_type: str, header_pairs: Iterable[tuple[int, Value]], body: Iterable[tuple[int, Value]]) -> bytes:
    message = simplefix.FixMessage()
    message.append_pair(tags.BEGIN_STRING, tags.BEGIN_STRING_FIX42, header=True)
    message.append_pair(tags.MSG_TYPE, _wire_value(tags.MSG_TYPE, msg_type), header=True)
    for tag, value in header_pairs:
        if value is not None:
            message.append_pair(tag, _wire_value(tag, value), header=True)
    for tag, value in body:
        if value is None:
            continue
        if tag == tags.XML_DATA and isinstance(value, bytes):
            message.append_pair(tag, value)  # checked by build_drop_copy_envelope
        else:
            message.append_pair(tag, _wire_value(tag, value))
    return message.encode()


def _build(msg_type: str, header: SessionHeader, body: Iterable[tuple[int, Value]] = ()) -> bytes:
    return _encode(msg_type, header.pairs(), body)


# --- session messages -----------------------------------------------------------------------


def build_logon(
    header: SessionHeader,
    *,
    heartbeat_interval: int,
    access_key_id: str,
    secret_key: str,
    application_system_name: str,
    trading_system_version: str,
    application_system_vendor: str,
    reset_seq_num: bool | None = None,
    encrypt_method: int | None = None,
) -> bytes:
    """Build the client's signed Logon (35=A), CME secure logon style (domain-reference §1.5).

    Carries 108, 354/355 (the Access Key ID), 1603/1604/1605, optional 141, and 1400
    ``CME-1-SHA-256`` / 1401 / 1402 signed over the very values encoded (142 and 369 come from
    ``header``; when absent they sign as empty). 98 EncryptMethod is left out unless given: the
    public CME client code strips it.
    """
    body: list[tuple[int, Value]] = [
        (tags.ENCRYPT_METHOD, encrypt_method),
        (tags.HEART_BT_INT, heartbeat_interval),
        (tags.RESET_SEQ_NUM_FLAG, reset_seq_num),
        (tags.ENCODED_TEXT_LEN, len(access_key_id)),
        (tags.ENCODED_TEXT, access_key_id),
        (tags.APPLICATION_SYSTEM_NAME, application_system_name),
        (tags.TRADING_SYSTEM_VERSION, trading_system_version),
        (tags.APPLICATION_SYSTEM_VENDOR, application_system_vendor),
    ]
    signed = {tag: _wire_value(tag, value) for tag, value in header.pairs() + body if value is not None}
    signature = sign_logon(secret_key, signed)
    body += [
        (tags.ENCRYPTED_PASSWORD_METHOD, tags.ENCRYPTED_PASSWORD_METHOD_CME),
        (tags.ENCRYPTED_PASSWORD_LEN, len(signature)),
        (tags.ENCRYPTED_PASSWORD, signature),
    ]
    return _build(MsgType.LOGON, header, body)


def build_logon_response(
    header: SessionHeader,
    *,
    heartbeat_interval: int,
    application_system_name: str | None,
    trading_system_version: str | None,
    application_system_vendor: str | None,
    reset_seq_num: bool | None = None,
    encrypt_method: int | None = None,
) -> bytes:
    """Build the acceptor's answering Logon, echoing the client's 108, 141 and 1603–1605 (§1.4)."""
    return _build(
        MsgType.LOGON,
        header,
        [
            (tags.ENCRYPT_METHOD, encrypt_method),
            (tags.HEART_BT_INT, heartbeat_interval),
            (tags.RESET_SEQ_NUM_FLAG, reset_seq_num),
            (tags.APPLICATION_SYSTEM_NAME, application_system_name),
            (tags.TRADING_SYSTEM_VERSION, trading_system_version),
            (tags.APPLICATION_SYSTEM_VENDOR, application_system_vendor),
        ],
    )


def build_heartbeat(header: SessionHeader, *, test_req_id: str | None = None) -> bytes:
    """Build a Heartbeat (35=0); answer a TestRequest by echoing its 112."""
    return _build(MsgType.HEARTBEAT, header, [(tags.TEST_REQ_ID, test_req_id)])


def build_test_request(header: SessionHeader, *, test_req_id: str) -> bytes:
    """Build a TestRequest (35=1)."""
    return _build(MsgType.TEST_REQUEST, header, [(tags.TEST_REQ_ID, test_req_id)])


def build_resend_request(header: SessionHeader, *, begin_seq_no: int, end_seq_no: int) -> bytes:
    """Build a ResendRequest (35=2); ``end_seq_no`` 0 means "up to the latest"."""
    if begin_seq_no < 1 or end_seq_no < 0 or (end_seq_no and end_seq_no < begin_seq_no):
        raise ValueError("ResendRequest range is invalid")
    return _build(MsgType.RESEND_REQUEST, header, [(tags.BEGIN_SEQ_NO, begin_seq_no), (tags.END_SEQ_NO, end_seq_no)])


def build_reject(
    header: SessionHeader,
    *,
    ref_seq_num: int,
    ref_msg_type: str | None = None,
    session_reject_reason: int | None = None,
    text: str | None = None,
    ref_tag_id: int | None = None,
) -> bytes:
    """Build a session-level Reject (35=3) of the message numbered ``ref_seq_num``."""
    return _build(
        MsgType.REJECT,
        header,
        [
            (tags.REF_SEQ_NUM, ref_seq_num),
            (tags.REF_TAG_ID, ref_tag_id),
            (tags.REF_MSG_TYPE, ref_msg_type),
            (tags.SESSION_REJECT_REASON, session_reject_reason),
            (tags.TEXT, text),
        ],
    )


def build_business_message_reject(
    header: SessionHeader,
    *,
    ref_seq_num: int,
    ref_msg_type: str,
    business_reject_reason: int,
    text: str | None = None,
) -> bytes:
    """Build a Business Message Reject (35=j); R14 answers order entry with 380=3."""
    return _build(
        MsgType.BUSINESS_MESSAGE_REJECT,
        header,
        [
            (tags.REF_SEQ_NUM, ref_seq_num),
            (tags.REF_MSG_TYPE, ref_msg_type),
            (tags.BUSINESS_REJECT_REASON, business_reject_reason),
            (tags.TEXT, text),
        ],
    )


def build_sequence_reset_gap_fill(
    header: SessionHeader,
    *,
    new_seq_no: int,
    resend: bool = False,
    orig_sending_time: dt.datetime | None = None,
) -> bytes:
    """Build a SequenceReset-GapFill (35=4, 123=Y, 36) standing for messages not resent.

    ``header.seq_num`` is the first number filled. With ``resend`` (answering a ResendRequest)
    it carries 43=Y and 122 OrigSendingTime, which defaults to the SendingTime, as FIX allows
    when the original time is unknown.
    """
    if new_seq_no <= header.seq_num:
        raise ValueError("NewSeqNo must be above the gap fill's own MsgSeqNum")
    extra: list[tuple[int, Value]] = []
    if resend:
        extra = [
            (tags.POSS_DUP_FLAG, True),
            (tags.ORIG_SENDING_TIME, orig_sending_time or header.sending_time),
        ]
    elif orig_sending_time is not None:
        raise ValueError("OrigSendingTime is for resent messages only")
    return _encode(
        MsgType.SEQUENCE_RESET,
        header.pairs() + extra,
        [(tags.GAP_FILL_FLAG, True), (tags.NEW_SEQ_NO, new_seq_no)],
    )


def build_logout(
    header: SessionHeader, *, text: str | None = None, next_expected_msg_seq_num: int | None = None
) -> bytes:
    """Build a Logout (35=5), with 789 when the peer's MsgSeqNum was too low (mid-week logon)."""
    return _build(
        MsgType.LOGOUT, header, [(tags.TEXT, text), (tags.NEXT_EXPECTED_MSG_SEQ_NUM, next_expected_msg_seq_num)]
    )


# --- drop copy envelope ---------------------------------------------------------------------


def build_drop_copy_envelope(header: SessionHeader, *, inner: bytes) -> bytes:
    """Wrap a whole FIX message in a drop copy envelope: 35=n, 212=len(213), 213=<RTRF>…</RTRF>.

    ``inner`` must be one complete valid FIX 4.2 frame (own BodyLength and CheckSum).
    """
    problem = check_frame(inner)
    if problem is not None:
        raise ValueError(f"inner message is not one valid FIX frame: {problem.reason} {problem.detail}")
    data = RTRF_OPEN + inner + RTRF_CLOSE
    if len(data) > MAX_ENVELOPE_DATA:
        raise ValueError(f"213 XMLData of {len(data)} bytes exceeds {MAX_ENVELOPE_DATA}")
    return _build(MsgType.XML, header, [(tags.XML_DATA_LEN, len(data)), (tags.XML_DATA, data)])


def envelope_payload(message: "Message") -> bytes:
    """Return the inner FIX message of a 35=n envelope; ``ValueError`` if the envelope is wrong."""
    if message.msg_type != MsgType.XML:
        raise ValueError("not a 35=n envelope")
    data = message.get(tags.XML_DATA)
    length = message.get_int(tags.XML_DATA_LEN)
    if data is None or length is None or length != len(data):
        raise ValueError("212 XmlDataLen does not match 213 XmlData")
    if not (data.startswith(RTRF_OPEN) and data.endswith(RTRF_CLOSE)):
        raise ValueError("213 XmlData is not wrapped in <RTRF>…</RTRF>")
    return data[len(RTRF_OPEN) : -len(RTRF_CLOSE)]


# --- execution reports (the drop copy payload) -----------------------------------------------


class ExecKind(StrEnum):
    """What an inner iLink-style execution report (35=8) says happened."""

    NEW = "new"  # order creation ack
    CANCELED = "canceled"  # cancel ack
    REPLACED = "replaced"  # modify ack
    ELIMINATED = "eliminated"  # order elimination
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"
    TRADE_CANCEL = "trade_cancel"  # bust
    TRADE_CORRECTION = "trade_correction"


# ExecTransType (20), ExecType (150), OrdStatus (39). Confirmed (domain-reference §1.7): the
# correction's 20=2 and 39=G. Unconfirmed, chosen by FIX 4.2 analogy: 150 on every kind, the
# bust's 20=1 / 39=H, and elimination as 39=C (Expired), as iLink 2 is believed to send.
_EXEC_CODES: dict[ExecKind, tuple[str, str, str]] = {
    ExecKind.NEW: ("0", "0", "0"),
    ExecKind.CANCELED: ("0", "4", "4"),
    ExecKind.REPLACED: ("0", "5", "5"),
    ExecKind.ELIMINATED: ("0", "C", "C"),
    ExecKind.PARTIAL_FILL: ("0", "1", "1"),
    ExecKind.FILL: ("0", "2", "2"),
    ExecKind.TRADE_CANCEL: ("1", "H", "H"),
    ExecKind.TRADE_CORRECTION: ("2", "G", "G"),
}
_TRADE_KINDS = frozenset({ExecKind.PARTIAL_FILL, ExecKind.FILL, ExecKind.TRADE_CANCEL, ExecKind.TRADE_CORRECTION})


@dataclass(frozen=True)
class ExecutionReport:
    """The business content of one iLink-style execution report.

    ``last_qty``/``last_px`` describe the trade for fills and busts; for a correction they are the
    new price and the original quantity (§1.7). ``cum_qty``/``avg_px`` are the order's totals
    after this event (a correction resets both to 0, as CME does).
    """

    kind: ExecKind
    order_id: str
    cl_ord_id: str
    exec_id: str
    account: str
    symbol: str  # product group code, e.g. "ES"
    security_desc: str  # instrument, e.g. "ESZ5"
    security_id: str
    side: str  # "1" buy, "2" sell
    order_qty: int
    price: Decimal
    transact_time: dt.datetime
    trade_date: dt.date
    last_qty: int = 0
    last_px: Decimal | None = None
    cum_qty: int = 0
    avg_px: Decimal = Decimal(0)
    exec_ref_id: str | None = None  # the trade busted or corrected
    orig_cl_ord_id: str | None = None  # cancel / modify acks
    secondary_exec_id: str | None = None
    security_type: str = "FUT"
    ord_type: str = "2"  # limit
    time_in_force: str = "0"  # day
    manual_order: bool = False
    aggressor: bool | None = None
    correlation_cl_ord_id: str | None = None


def _check_execution(report: ExecutionReport) -> None:
    if report.side not in ("1", "2"):
        raise ValueError("side must be '1' (buy) or '2' (sell)")
    if report.order_qty < 1 or not 0 <= report.cum_qty <= report.order_qty:
        raise ValueError("quantities are inconsistent")
    kind = report.kind
    if kind in _TRADE_KINDS and (report.last_qty < 1 or report.last_px is None):
        raise ValueError(f"{kind} needs last_qty and last_px")
    if kind == ExecKind.PARTIAL_FILL and not report.last_qty <= report.cum_qty < report.order_qty:
        raise ValueError("a partial fill leaves part of the order open")
    if kind == ExecKind.FILL and report.cum_qty != report.order_qty:
        raise ValueError("a fill completes the order")
    if kind in (ExecKind.TRADE_CANCEL, ExecKind.TRADE_CORRECTION) and not report.exec_ref_id:
        raise ValueError(f"{kind} needs exec_ref_id (19)")


def build_execution_report(header: SessionHeader, report: ExecutionReport) -> bytes:
    """Build an inner iLink-style Execution Report (35=8) to wrap in a drop copy envelope."""
    _check_execution(report)
    exec_trans_type, exec_type, ord_status = _EXEC_CODES[report.kind]
    kind = report.kind
    cum_qty, avg_px = report.cum_qty, report.avg_px
    if kind == ExecKind.NEW:
        cum_qty, avg_px = 0, Decimal(0)
    if kind == ExecKind.TRADE_CORRECTION:
        cum_qty, avg_px = 0, Decimal(0)
    open_order = kind in (ExecKind.NEW, ExecKind.REPLACED, ExecKind.PARTIAL_FILL)
    leaves_qty = report.order_qty - cum_qty if open_order else 0
    trade = kind in _TRADE_KINDS
    body: list[tuple[int, Value]] = [
        (tags.ORDER_ID, report.order_id),
        (tags.CL_ORD_ID, report.cl_ord_id),
        (tags.ORIG_CL_ORD_ID, report.orig_cl_ord_id),
        (tags.EXEC_ID, report.exec_id),
        (tags.EXEC_REF_ID, report.exec_ref_id if kind in (ExecKind.TRADE_CANCEL, ExecKind.TRADE_CORRECTION) else None),
        (tags.EXEC_TRANS_TYPE, exec_trans_type),
        (tags.EXEC_TYPE, exec_type),
        (tags.ORD_STATUS, ord_status),
        (tags.ACCOUNT, report.account),
        (tags.SECURITY_ID, report.security_id),
        (tags.SYMBOL, report.symbol),
        (tags.SECURITY_DESC, report.security_desc),
        (tags.SECURITY_TYPE, report.security_type),
        (tags.SIDE, report.side),
        (tags.ORDER_QTY, report.order_qty),
        (tags.ORD_TYPE, report.ord_type),
        (tags.PRICE, report.price),
        (tags.TIME_IN_FORCE, report.time_in_force),
        (tags.LAST_PX, report.last_px if trade else None),
        (tags.LAST_QTY, report.last_qty if trade else None),
        (tags.CUM_QTY, cum_qty),
        (tags.LEAVES_QTY, leaves_qty),
        (tags.AVG_PX, avg_px),
        (tags.TRANSACT_TIME, report.transact_time),
        (tags.TRADE_DATE, report.trade_date.strftime("%Y%m%d")),
        (tags.SECONDARY_EXEC_ID, report.secondary_exec_id),
        (tags.MANUAL_ORDER_INDICATOR, report.manual_order),
        (tags.AGGRESSOR_INDICATOR, report.aggressor if trade else None),
        (tags.CORRELATION_CL_ORD_ID, report.correlation_cl_ord_id),
    ]
    return _build(MsgType.EXECUTION_REPORT, header, body)


# --- reading --------------------------------------------------------------------------------


class Message:
    """A read-only view of one frame's fields (as returned by :func:`parse_fields`)."""

    __slots__ = ("fields", "raw")

    def __init__(self, fields: Iterable[tuple[int, bytes]], raw: bytes = b"") -> None:
        self.fields: tuple[tuple[int, bytes], ...] = tuple(fields)
        self.raw = raw

    @classmethod
    def parse(cls, frame: bytes) -> "Message":
        """Tokenise ``frame``; :class:`FixParseError` (a ``ValueError``) if it does not tokenise."""
        return cls(parse_fields(frame), raw=frame)

    def get(self, tag: int, nth: int = 1) -> bytes | None:
        """Return the ``nth`` value of ``tag`` (first by default), or ``None``."""
        for field_tag, value in self.fields:
            if field_tag == tag:
                nth -= 1
                if nth == 0:
                    return value
        return None

    def get_all(self, tag: int) -> list[bytes]:
        return [value for field_tag, value in self.fields if field_tag == tag]

    def get_str(self, tag: int) -> str | None:
        value = self.get(tag)
        return None if value is None else value.decode("ascii", "replace")

    def get_int(self, tag: int) -> int | None:
        """Return ``tag`` as an int; ``ValueError`` if it is present but not a plain number."""
        value = self.get(tag)
        if value is None:
            return None
        if not (value.isdigit() or (value[:1] == b"-" and value[1:].isdigit())):
            raise ValueError(f"tag {tag} is not an integer: {value[:20]!r}")
        return int(value)

    def get_bool(self, tag: int) -> bool | None:
        """Return a ``Y``/``N`` field as a bool; ``ValueError`` for any other value."""
        value = self.get(tag)
        if value is None:
            return None
        if value not in (b"Y", b"N"):
            raise ValueError(f"tag {tag} is not Y/N: {value[:20]!r}")
        return value == b"Y"

    def get_time(self, tag: int) -> dt.datetime | None:
        value = self.get(tag)
        return None if value is None else parse_sending_time(value)

    def first_values(self) -> dict[int, bytes]:
        """Map each tag to its first value (what :func:`~.signature.verify_logon_signature` takes)."""
        result: dict[int, bytes] = {}
        for tag, value in self.fields:
            result.setdefault(tag, value)
        return result

    @property
    def msg_type(self) -> str | None:
        return self.get_str(tags.MSG_TYPE)

    @property
    def seq_num(self) -> int | None:
        return self.get_int(tags.MSG_SEQ_NUM)

    @property
    def poss_dup(self) -> bool:
        return self.get(tags.POSS_DUP_FLAG) == b"Y"

    @property
    def sending_time(self) -> dt.datetime | None:
        return self.get_time(tags.SENDING_TIME)

    def __contains__(self, tag: object) -> bool:
        return any(field_tag == tag for field_tag, _ in self.fields)

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def __repr__(self) -> str:
        shown = "|".join(f"{tag}={value.decode('ascii', 'replace')}" for tag, value in self.fields[:12])
        more = "|…" if len(self.fields) > 12 else ""
        return f"<Message {shown}{more}>"


# --- resend ---------------------------------------------------------------------------------


def mark_as_resent(
    raw: bytes, orig_sending_time: dt.datetime | str | bytes | None, new_sending_time: dt.datetime
) -> bytes:
    """Re-encode a stored message for a resend: 43=Y, 122=original SendingTime, 52=now, new CheckSum.

    ``raw`` must be one valid frame. ``orig_sending_time`` ``None`` takes the stored message's
    own 52. Fields keep their order, 43 and 122 go right after 52, and an existing 43 or 122 is
    replaced, never repeated. Data values (a 35=n envelope's 213) pass through byte for byte.
    Session messages other than Reject are gap-filled, not resent (FIX 4.2): asking to resend
    one is a ``ValueError``.
    """
    problem = check_frame(raw)
    if problem is not None:
        raise ValueError(f"stored message is not one valid frame: {problem.reason} {problem.detail}")
    message = Message.parse(raw)
    msg_type = message.msg_type
    if msg_type in _NEVER_RESENT:
        raise ValueError(f"35={msg_type} is gap-filled, not resent")
    stored_sending_time = message.get(tags.SENDING_TIME)
    if stored_sending_time is None:
        raise ValueError("stored message has no SendingTime (52)")
    if orig_sending_time is None:
        orig_sending_time = stored_sending_time
    if not isinstance(orig_sending_time, dt.datetime):
        parse_sending_time(orig_sending_time)  # refuse anything that is not a timestamp

    resent = simplefix.FixMessage()
    resent.append_pair(tags.BEGIN_STRING, tags.BEGIN_STRING_FIX42)
    resent.append_pair(tags.MSG_TYPE, message.get(tags.MSG_TYPE))
    for tag, value in message.fields:
        if tag in (tags.BEGIN_STRING, tags.BODY_LENGTH, tags.MSG_TYPE, tags.CHECKSUM):
            continue
        if tag in (tags.POSS_DUP_FLAG, tags.ORIG_SENDING_TIME):
            continue
        if tag == tags.SENDING_TIME:
            resent.append_pair(tag, _wire_value(tag, new_sending_time))
            resent.append_pair(tags.POSS_DUP_FLAG, b"Y")
            resent.append_pair(tags.ORIG_SENDING_TIME, _wire_value(tags.ORIG_SENDING_TIME, orig_sending_time))
        else:
            resent.append_pair(tag, value)  # already valid on the wire
    return resent.encode()
