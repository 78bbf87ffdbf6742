"""The month billing bills: ``2026-11`` as the API, the exports and the command write it,
``November 2026`` as the pages say it."""

import datetime as dt
import re
from dataclasses import dataclass

_WRITTEN = re.compile(r"(\d{4})-(\d{2})")


class NotAMonth(ValueError):
    """Text that is not a month written ``YYYY-MM``, or a year and month that do not exist."""


@dataclass(frozen=True, order=True)
class BillingMonth:
    year: int
    month: int

    def __post_init__(self):
        if not (dt.MINYEAR <= self.year <= dt.MAXYEAR and 1 <= self.month <= 12):
            raise NotAMonth(f"There is no month {self.month} of year {self.year}.")

    @classmethod
    def parse(cls, text) -> "BillingMonth":
        """``"2026-11"`` as a month; anything else (``"2026-1"``, ``"2026-13"``, a date) raises ``NotAMonth``."""
        match = _WRITTEN.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise NotAMonth(f"{text!r} is not a month written YYYY-MM.")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def of(cls, day: dt.date) -> "BillingMonth":
        """The month ``day`` falls in."""
        return cls(day.year, day.month)

    @property
    def first_day(self) -> dt.date:
        """How the models and the services hold a month: its first day."""
        return dt.date(self.year, self.month, 1)

    @property
    def in_words(self) -> str:
        """``November 2026``."""
        return f"{self.first_day:%B %Y}"

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"
