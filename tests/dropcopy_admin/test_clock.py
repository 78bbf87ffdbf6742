"""The product's one way of writing a time for machines: ISO 8601 in UTC with ``Z``."""

import datetime as dt
from zoneinfo import ZoneInfo

from dropcopy_admin import clock


def test_a_time_is_written_in_utc_with_z_whatever_its_zone():
    chicago = dt.datetime(2026, 3, 10, 10, 30, tzinfo=ZoneInfo("America/Chicago"))

    assert clock.utc_iso(chicago) == "2026-03-10T15:30:00Z"


def test_microseconds_are_kept_unless_a_coarser_timespec_is_asked():
    moment = dt.datetime(2026, 3, 10, 15, 30, 5, 250000, tzinfo=dt.UTC)

    assert clock.utc_iso(moment) == "2026-03-10T15:30:05.250000Z"
    assert clock.utc_iso(moment, timespec="seconds") == "2026-03-10T15:30:05Z"
