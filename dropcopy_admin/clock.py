"""The one clock of the product (the gateway included): tests move it instead of sleeping."""

import datetime as dt
import threading

from django.utils import timezone

_lock = threading.Lock()
_offset = dt.timedelta(0)
_frozen_at: dt.datetime | None = None


def now() -> dt.datetime:
    """Return the product's current time, an aware UTC datetime."""
    if _frozen_at is not None:
        return _frozen_at
    return timezone.now() + _offset


def utc_iso(value: dt.datetime, *, timespec: str = "auto") -> str:
    """``value`` in ISO 8601 UTC with ``Z`` (``2026-03-10T15:30:00Z``), as the API, the audit trail,
    the key file and the e-mails write times; ``timespec`` as for ``datetime.isoformat``."""
    return value.astimezone(dt.UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def freeze(at: dt.datetime) -> None:
    """Stop the clock at ``at`` (tests)."""
    global _frozen_at
    if timezone.is_naive(at):
        raise ValueError("the clock takes aware datetimes only")
    with _lock:
        _frozen_at = at.astimezone(dt.UTC)


def advance(delta: dt.timedelta) -> None:
    """Move the clock forward by ``delta``, frozen or running (tests)."""
    global _frozen_at, _offset
    with _lock:
        if _frozen_at is not None:
            _frozen_at += delta
        else:
            _offset += delta


def reset() -> None:
    """Return to real time."""
    global _frozen_at, _offset
    with _lock:
        _frozen_at = None
        _offset = dt.timedelta(0)
