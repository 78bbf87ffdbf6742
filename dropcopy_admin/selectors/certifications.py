"""Reads of certifications (R9): the checklist the API, the admin and the portal show."""

import datetime as dt
from dataclasses import dataclass

from dropcopy_admin.choices import CertificationCheckName
from dropcopy_admin.models import Certification


@dataclass(frozen=True)
class ChecklistItem:
    name: str
    label: str
    passed_at: dt.datetime | None  # None until the gateway has seen the check


def certification_checklist(certification: Certification) -> list[ChecklistItem]:
    """Always the five checks, in their order, from the (prefetched) ``checks`` rows."""
    passed = {check.name: check.passed_at for check in certification.checks.all()}
    return [
        ChecklistItem(name=name, label=label, passed_at=passed.get(name))
        for name, label in CertificationCheckName.choices
    ]
