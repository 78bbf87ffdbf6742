"""The gateway's use of the pure FIX blocks of ``dropcopy_admin.fix`` (framing and signature)."""

from dropcopy_admin.fix.framing import FrameError, FrameErrorReason, FrameReader
from dropcopy_admin.fix.signature import verify_logon_signature

from . import wire

__all__ = ["FrameError", "FrameErrorReason", "FrameReader", "verify_signature"]


def verify_signature(fields: wire.Fields, secret: str) -> bool:
    """Whether the logon's 1402 signs its canonical fields under ``secret`` (R19, §1.5)."""
    values = {tag: value for tag, value in reversed(fields.pairs)}  # first occurrence wins
    try:
        return verify_logon_signature(secret, values, values.get(1402))
    except ValueError:
        return False
