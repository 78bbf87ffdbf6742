"""Billing's admin forms, and months in words ("November 2026") wherever the admin shows one."""

import datetime as dt
import re

from django import forms

from dropcopy_admin import errors

from .months import BillingMonth, NotAMonth
from .services import current_month

# A month written as the API and the services write it, ``YYYY-MM``, not part of a full date.
_YEAR_MONTH = re.compile(r"(?<![\d-])(\d{4})-(0[1-9]|1[0-2])(?![\d-])")


def month_in_words(month: dt.date | None) -> str:
    """The month of ``month`` (a date) as ``November 2026``; empty for no month."""
    return BillingMonth.of(month).in_words if month is not None else ""


def in_words(text: str) -> str:
    """``text`` with each ``YYYY-MM`` month written as people write it: ``2026-11`` → ``November 2026``."""
    return _YEAR_MONTH.sub(lambda match: BillingMonth(int(match[1]), int(match[2])).in_words, text)


def refusal_in_words(error: errors.DomainError) -> str:
    """A service's refusal as a sentence: its detail in words, without the field prefix or the code."""
    field_messages = [message for messages in (error.errors or {}).values() for message in messages]
    return in_words(" ".join(field_messages) if field_messages else error.detail)


class MonthField(forms.DateField):
    """A month picked as ``YYYY-MM`` (the browser's month input), cleaned to its first day."""

    widget = forms.DateInput(format="%Y-%m", attrs={"type": "month"})

    def to_python(self, value) -> dt.date | None:
        if value in self.empty_values:
            return None
        if isinstance(value, dt.date):
            return BillingMonth.of(value).first_day
        try:
            return BillingMonth.parse(str(value).strip()).first_day
        except NotAMonth:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class ComputeMonthForm(forms.Form):
    """The month whose run finance computes (a new draft) or recomputes (a draft's group lines again)."""

    month = MonthField(
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
