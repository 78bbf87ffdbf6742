"""Re-encoding a stored message for a resend (43=Y, 122, a new 52 and CheckSum), FIX 4.2 rules."""

import datetime as dt

import simplefix

from .. import tags
from ..framing import check_frame
from ..tags import MsgType
from .encoding import parse_sending_time, wire_value
from .reading import Message

_NEVER_RESENT = frozenset(tags.ADMIN_MSG_TYPES - {MsgType.REJECT})
"""Session messages answered with a gap fill instead of being resent (FIX 4.2 resend rules)."""


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
            resent.append_pair(tag, wire_value(tag, new_sending_time))
            resent.append_pair(tags.POSS_DUP_FLAG, b"Y")
            resent.append_pair(tags.ORIG_SENDING_TIME, wire_value(tags.ORIG_SENDING_TIME, orig_sending_time))
        else:
            resent.append_pair(tag, value)  # already valid on the wire
    return resent.encode()
