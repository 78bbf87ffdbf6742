"""The drop copy envelope: a whole inner FIX message carried in 213 XMLData of a ``35=n``.

The one value allowed to contain SOH is 213, whose length travels in 212.
"""

import dataclasses

from .. import tags
from ..framing import check_frame
from ..tags import MsgType
from .encoding import SessionHeader, build_message, frame_body
from .reading import Message

RTRF_OPEN = b"<RTRF>"
RTRF_CLOSE = b"</RTRF>"
MAX_ENVELOPE_DATA = 8000
"""Largest 213 XMLData CME documents (domain-reference §1.7)."""


def build_drop_copy_envelope(header: SessionHeader, *, inner: bytes) -> bytes:
    """Wrap a whole FIX message in a drop copy envelope: 35=n, 212=len(213), 213=<RTRF>…</RTRF>.

    ``inner`` must be one complete valid FIX 4.2 frame (own BodyLength and CheckSum).
    """
    data = _wrapped(inner, check=True)
    return build_message(MsgType.XML, header, [(tags.XML_DATA_LEN, len(data)), (tags.XML_DATA, data)])


def build_drop_copy_envelopes(header: SessionHeader, inners: list[bytes], *, check: bool = True) -> list[bytes]:
    """Envelopes of consecutive messages of one stream: ``inners[i]`` numbered ``header.seq_num + i``,
    each byte for byte what :func:`build_drop_copy_envelope` builds, the header written once.

    ``check=False`` skips checking that each inner message is one valid frame, for messages this
    package's builders returned (they build nothing else); their size is still checked.
    """
    head = header.fields_text()
    numbered = f"34={header.seq_num}\x01"
    if head is None or not head.startswith(numbered):  # some header value needs the checked path
        return [
            build_drop_copy_envelope(dataclasses.replace(header, seq_num=header.seq_num + i), inner=inner)
            for i, inner in enumerate(inners)
        ]
    rest = head[len(numbered) :].encode("ascii")
    envelopes = []
    for seq, inner in enumerate(inners, start=header.seq_num):
        data = _wrapped(inner, check=check)
        envelopes.append(frame_body(b"35=n\x0134=%d\x01%b212=%d\x01213=%b\x01" % (seq, rest, len(data), data)))
    return envelopes


def _wrapped(inner: bytes, *, check: bool) -> bytes:
    """213 XMLData: ``inner`` between ``<RTRF>`` and ``</RTRF>``, checked to be one valid frame (if
    ``check``) that fits."""
    if check:
        problem = check_frame(inner)
        if problem is not None:
            raise ValueError(f"inner message is not one valid FIX frame: {problem.reason} {problem.detail}")
    data = RTRF_OPEN + inner + RTRF_CLOSE
    if len(data) > MAX_ENVELOPE_DATA:
        raise ValueError(f"213 XMLData of {len(data)} bytes exceeds {MAX_ENVELOPE_DATA}")
    return data


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
