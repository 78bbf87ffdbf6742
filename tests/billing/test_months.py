"""The billing month: one way to read ``YYYY-MM`` and to write a month, in figures and in words."""

import datetime as dt

import pytest

from billing.months import BillingMonth, NotAMonth


def test_a_month_reads_and_writes_yyyy_mm():
    month = BillingMonth.parse("2026-11")

    assert (month.year, month.month) == (2026, 11)
    assert str(month) == "2026-11"
    assert month.first_day == dt.date(2026, 11, 1)
    assert month.in_words == "November 2026"


def test_the_month_of_a_day_is_its_first_day():
    assert BillingMonth.of(dt.date(2025, 2, 28)).first_day == dt.date(2025, 2, 1)
    assert str(BillingMonth.of(dt.date(987, 1, 31))) == "0987-01"


@pytest.mark.parametrize(
    "text", ["2026-1", "2026-13", "2026-00", "0000-05", "2026-11-01", "26-11", "Nov 2026", "", " 2026-11", "2026-11\n"]
)
def test_anything_but_a_month_written_yyyy_mm_is_not_a_month(text):
    with pytest.raises(NotAMonth):
        BillingMonth.parse(text)


@pytest.mark.parametrize("value", [None, 202611, dt.date(2026, 11, 1)])
def test_only_text_is_parsed(value):
    with pytest.raises(NotAMonth):
        BillingMonth.parse(value)


def test_months_order_by_time():
    assert BillingMonth(2025, 12) < BillingMonth(2026, 1) < BillingMonth(2026, 11)
