"""The drop copy envelope: a whole inner FIX message carried in 213 XMLData of a ``35=n``.

The one value allowed to contain SOH is 213, whose length travels in 212.
"""

from .. import tags
from ..framing import check_frame
from ..tags import MsgType
from .encoding import SessionHeader, build_message
from .reading import Message

RTRF_OPEN = b"<RTRF>"
RTRF_CLOSE = b"</RTRF>"
MAX_ENVELOPE_DATA = 8000
"""Largest 213 XMLData CME documents (domain-reference §1.7)."""


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
    return build_message(MsgType.XML, header, [(tags.XML_DATA_LEN, len(data)), (tags.XML_DATA, data)])


def envelope_payload(message: Message) -> bytes:
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
