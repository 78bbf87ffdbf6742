"""The synthetic feed's generator, byte for byte: a seed's messages never change (pure, no gateway).

The expected bytes and digests were recorded from the generator before it was made cheaper; a
change of any byte, of the order of the random draws or of a trade date is a change of the feed
that subscribers and stored streams would see.
"""

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

import pytest

from dropcopy_admin.gateway.synthetic import ALL_KINDS, SyntheticFeed, kinds_for, trade_date

CHICAGO = ZoneInfo("America/Chicago")
WEDNESDAY = dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.UTC)
SOURCES = ("ABC123N", "DEF456N")


def test_seed_1_begins_with_these_exact_messages():
    feed = SyntheticFeed(seed=1, kinds=ALL_KINDS, sources=SOURCES)

    messages = [feed.next_message(WEDNESDAY).replace(b"\x01", b"|") for _ in range(3)]

    assert messages == [
        b"8=FIX.4.2|9=270|35=8|34=1|49=CME|50=G|52=20261125-15:00:00.000|56=DEF456N|37=O00010000001|"
        b"11=C00010000002|17=X00010000003|20=0|150=0|39=0|1=ACCT2|48=118|55=ES|107=ESZ6|167=FUT|54=2|38=49|40=2|"
        b"44=6004.25|59=0|14=0|151=49|6=0|60=20261125-15:00:00.000|75=20261125|1028=N|9717=C00010000002|10=080|",
        b"8=FIX.4.2|9=321|35=8|34=2|49=CME|50=G|52=20261125-15:00:00.000|56=DEF456N|37=O00010000001|"
        b"11=C00010000002|17=X00010000005|20=0|150=1|39=1|1=ACCT2|48=118|55=ES|107=ESZ6|167=FUT|54=2|38=49|40=2|"
        b"44=6004.25|59=0|31=6004.25|32=2|14=2|151=47|6=6004.2500000|60=20261125-15:00:00.000|75=20261125|"
        b"527=T00010000004|1028=N|1057=N|9717=C00010000002|10=229|",
        b"8=FIX.4.2|9=322|35=8|34=3|49=CME|50=G|52=20261125-15:00:00.000|56=DEF456N|37=O00010000001|"
        b"11=C00010000002|17=X00010000007|20=0|150=2|39=2|1=ACCT2|48=118|55=ES|107=ESZ6|167=FUT|54=2|38=49|40=2|"
        b"44=6004.25|59=0|31=6004.25|32=47|14=49|151=0|6=6004.2500000|60=20261125-15:00:00.000|75=20261125|"
        b"527=T00010000006|1028=N|1057=Y|9717=C00010000002|10=049|",
    ]


@pytest.mark.parametrize(
    ("seed", "kinds", "start", "expected"),
    [
        (7, ALL_KINDS, WEDNESDAY, "2e10c42be31cbe8e6822c85b5a244e904343fa60bd1002cdc5a50c8d65996dd8"),
        (
            11,
            kinds_for(message_filters=["fills"], temporary=False),
            WEDNESDAY,
            "38f9461e59a669d21cc2c9cdc9786ba92b880b18086762191554806e1761727c",
        ),
        # Chicago time, across the 17:00 opening of the next trade date.
        (
            3,
            ALL_KINDS,
            dt.datetime(2026, 11, 25, 16, 59, 59, tzinfo=CHICAGO),
            "61ba8066eefa0d7deee661af37b7c6e6673476f5f51b4cbfe9fa383a5813be6c",
        ),
    ],
)
def test_a_seed_gives_exactly_the_recorded_2000_messages(seed, kinds, start, expected):
    feed = SyntheticFeed(seed=seed, kinds=kinds, sources=SOURCES)
    digest = hashlib.sha256()
    for i in range(2000):
        digest.update(feed.next_message(start + dt.timedelta(milliseconds=250 * i)))

    assert digest.hexdigest() == expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (dt.datetime(2026, 11, 25, 22, 59, 59, 999999, tzinfo=dt.UTC), dt.date(2026, 11, 25)),
        (dt.datetime(2026, 11, 25, 23, 0, tzinfo=dt.UTC), dt.date(2026, 11, 26)),
        (dt.datetime(2026, 11, 25, 17, 0, tzinfo=CHICAGO), dt.date(2026, 11, 26)),
        (dt.datetime(2026, 7, 1, 21, 59, tzinfo=dt.UTC), dt.date(2026, 7, 1)),  # summer: 17:00 is 22:00 UTC
        (dt.datetime(2026, 7, 1, 22, 0, tzinfo=dt.UTC), dt.date(2026, 7, 2)),
    ],
)
def test_the_trade_date_turns_at_17_00_chicago(at, expected):
    assert trade_date(at) == expected
    assert trade_date(at) == expected  # asked again (the answer for a UTC time is remembered)
