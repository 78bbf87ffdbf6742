"""Building FIX 4.2 drop copy messages as bytes, and reading them back.

Pure functions from values to bytes and back (house style): no sockets, no clock, no database.
This package's face re-exports the public names; the modules hold, by concern:

* ``encoding``: the values (booleans, times, printable ASCII, ``Echoed`` peer values),
  ``SessionHeader`` and the encoder (``build_acceptor_message``: the gateway's own messages);
* ``session``: the session-level messages (logon, heartbeat, test request, resend request,
  rejects, gap fill, logout);
* ``envelope``: the drop copy envelope (``35=n``) around a whole inner message;
* ``execution``: the iLink-style execution reports (``35=8``) the envelope carries;
* ``reading``: ``Message``, a read-only view of a parsed frame;
* ``resend``: ``mark_as_resent``, re-encoding a stored message for a resend.
"""

from ..framing import FixParseError, parse_fields
from .encoding import Echoed, SessionHeader, Value, build_acceptor_message, format_sending_time, parse_sending_time
from .envelope import RTRF_CLOSE, RTRF_OPEN, build_drop_copy_envelope, build_drop_copy_envelopes, envelope_payload
from .execution import ExecKind, ExecutionReport, build_execution_report, write_execution_report
from .reading import Message
from .resend import mark_as_resent
from .session import (
    build_business_message_reject,
    build_heartbeat,
    build_logon,
    build_logon_response,
    build_logout,
    build_reject,
    build_resend_request,
    build_sequence_reset_gap_fill,
    build_test_request,
)

__all__ = [
    "RTRF_CLOSE",
    "RTRF_OPEN",
    "Echoed",
    "ExecKind",
    "ExecutionReport",
    "FixParseError",
    "Message",
    "SessionHeader",
    "Value",
    "build_acceptor_message",
    "build_business_message_reject",
    "build_drop_copy_envelope",
    "build_drop_copy_envelopes",
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
    "write_execution_report",
]
