"""The certification checklist (R9): the gateway records the checks a client's application shows.

While a certification is ``requested`` and its AutoCert+ target is live (not closed, not past its
``expires_at``), the gateway calls :func:`certification_check_record` from its database thread
each time it sees one of the five checks (``CertificationCheckName``) shown on that target; what
counts as shown is defined in ``dropcopy_admin/gateway/certification.py``, which reaches this module
through the core's ``dropcopy_admin/certification_checklist.py`` (registered in ``apps.py``). The first showing sets
``passed_at`` (and a short ``detail``), audited as ``system:gateway``; later showings change
nothing. A decided certification, a closed or expired target, or a target that is not an AutoCert+
target records nothing.

Locks follow the order of ``certification_decide``: the certification, then its target, so a
check is never recorded on a certification whose decision has committed.
"""

import datetime as dt

from django.db import transaction

from dropcopy_admin.certification_checklist import ChecklistState
from dropcopy_admin.choices import CertificationCheckName, CertificationStatus, TargetStatus, TemporaryKind
from dropcopy_admin.models import TargetSession
from dropcopy_admin.services.audit import SystemActor, audit_record, snapshot

from ..models import Certification, CertificationCheck
from ..selectors import checklist_load

__all__ = ["GATEWAY_ACTOR", "CertificationChecklistRecords", "certification_check_record"]

GATEWAY_ACTOR = SystemActor("gateway")
_DETAIL_LENGTH = CertificationCheck._meta.get_field("detail").max_length


def certification_check_record(*, target_id: int, name: str, at: dt.datetime, detail: str = "") -> bool:
    """Record check ``name`` as shown at ``at`` on the AutoCert+ target ``target_id``.

    True when this call set ``passed_at``; False when the check had already passed (idempotent),
    the name is not one of the five, or the target has no live, ``requested`` certification.
    """
    if name not in CertificationCheckName.values:
        return False
    with transaction.atomic():
        certification = (
            Certification.objects.select_for_update()
            .filter(target_id=target_id, status=CertificationStatus.REQUESTED)
            .first()
        )
        if certification is None:
            return False
        target = TargetSession.objects.select_for_update().get(pk=target_id)
        if target.temporary != TemporaryKind.AUTOCERT or target.status == TargetStatus.CLOSED:
            return False
        if target.expires_at is not None and at >= target.expires_at:
            return False
        check = CertificationCheck.objects.select_for_update().filter(certification=certification, name=name).first()
        if check is None or check.passed_at is not None:
            return False
        before = snapshot(check)
        check.passed_at = at
        check.detail = detail[:_DETAIL_LENGTH]
        check.save(update_fields=["passed_at", "detail"])
        audit_record(actor=GATEWAY_ACTOR, action="pass_check", instance=check, before=before)
    return True


class CertificationChecklistRecords:
    """The core's ``ChecklistRecords`` (``dropcopy_admin/certification_checklist.py``), answered from
    certifications: what the gateway reads and records (registered in ``apps.py``)."""

    def checklist_load(self, *, target_id: int) -> ChecklistState | None:
        return checklist_load(target_id=target_id)

    def check_record(self, *, target_id: int, name: str, at: dt.datetime, detail: str) -> bool:
        return certification_check_record(target_id=target_id, name=name, at=at, detail=detail)
