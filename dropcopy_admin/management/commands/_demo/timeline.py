"""Moving the product's clock so the demo's history happens at its own times."""

import datetime as dt
from contextlib import contextmanager

from dropcopy_admin import clock


@contextmanager
def clock_at(moment: dt.datetime):
    """Run the block with the product's clock showing ``moment`` (and running on from there).

    The clock is moved by an offset and moved back by the same offset afterwards, whatever
    happens, so a frozen or already shifted clock (a test's) is restored exactly.
    """
    shift = moment - clock.now()
    clock.advance(shift)
    try:
        yield
    finally:
        clock.advance(-shift)


def days_before(now: dt.datetime, days: float, *, hour: int = 15, minute: int = 0) -> dt.datetime:
    """``days`` whole days before ``now``, at ``hour``:``minute`` UTC (always before ``now`` for days >= 1)."""
    day = (now - dt.timedelta(days=days)).date()
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)
