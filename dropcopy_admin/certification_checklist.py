"""What the gateway asks of certifications (R9), which live in ``entitlements``: the core defines the
questions, entitlements answers them.

The gateway watches an AutoCert+ target's client sessions for the five checks
(``dropcopy_admin/gateway/certification.py``); certifications and their checks are not the core's,
so the gateway reads and records them through the ``ChecklistRecords`` registered here, which
``entitlements`` registers from its ``AppConfig.ready()``. With none registered, no target has a
certification in progress: the gateway watches nothing and records nothing.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ChecklistState:
    """A target's ``requested`` certification and the names of the checks it has already passed."""

    certification_id: int
    passed: frozenset[str]


class ChecklistRecords(Protocol):
    def checklist_load(self, *, target_id: int) -> ChecklistState | None:
        """The target's ``requested`` certification and its passed checks; None when there is none."""

    def check_record(self, *, target_id: int, name: str, at: dt.datetime, detail: str) -> bool:
        """Record check ``name`` as shown at ``at`` on the target; True when this call recorded it."""


class _NoCertifications:
    def checklist_load(self, *, target_id: int) -> ChecklistState | None:
        return None

    def check_record(self, *, target_id: int, name: str, at: dt.datetime, detail: str) -> bool:
        return False


_registered: list[ChecklistRecords] = [_NoCertifications()]


def checklist_records_register(records: ChecklistRecords) -> None:
    """Make ``records`` the one the gateway uses (registering again replaces it)."""
    _registered[:] = [records]


def checklist_records() -> ChecklistRecords:
    """The registered ``ChecklistRecords``."""
    return _registered[0]
