"""Billing's admin forms, and months in words ("November 2026") wherever the admin shows one."""

import datetime as dt
import re

from django import forms

from dropcopy_admin import errors

from .services import current_month

# A month written as the API and the services write it, ``YYYY-MM``, not part of a full date.
_YEAR_MONTH = re.compile(r"(?<![\d-])(\d{4})-(0[1-9]|1[0-2])(?![\d-])")


def month_in_words(month: dt.date | None) -> str:
    """``November 2026``; empty for no month."""
    return f"{month:%B %Y}" if month is not None else ""


def in_words(text: str) -> str:
    """``text`` with each ``YYYY-MM`` month written as people write it: ``2026-11`` → ``November 2026``."""
    return _YEAR_MONTH.sub(lambda match: month_in_words(dt.date(int(match[1]), int(match[2]), 1)), text)


def refusal_in_words(error: errors.DomainError) -> str:
    """A service's refusal as a sentence: its detail in words, without the field prefix or the code."""
    field_messages = [message for messages in (error.errors or {}).values() for message in messages]
    return in_words(" ".join(field_messages) if field_messages else error.detail)


class ComputeMonthForm(forms.Form):
    """The month whose run finance computes (a new draft) or recomputes (a draft's group lines again)."""

    month = forms.DateField(
        input_formats=["%Y-%m"],
        widget=forms.DateInput(format="%Y-%m", attrs={"type": "month"}),
        error_messages={
            "required": "Pick a month.",
            "invalid": "Give a month as year and month, such as 2026-11.",
        },
        help_text=(
            "The month billed (Chicago time). A draft month is computed again from its groups, keeping its "
            "adjustments; a closed month stays as it was closed."
        ),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"month": current_month()})
        super().__init__(*args, **kwargs)

    def add_refusal(self, error: errors.DomainError) -> None:
        """Show the service's refusal beside the month: a closed month, one not begun, one before any tariff."""
        self.add_error("month", refusal_in_words(error))
