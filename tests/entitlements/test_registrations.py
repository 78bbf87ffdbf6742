"""What entitlements plugs into the core from ``apps.py``: the certification rule on group writes,
the records of the gateway's AutoCert+ checklist, and who reads certifications — and what the core
does when nothing is plugged in."""

import datetime as dt

import pytest

from dropcopy_admin import certification_checklist
from dropcopy_admin.gateway.certification import checklist_load
from dropcopy_admin.selectors import visibility
from dropcopy_admin.services.group_rules import group_rules
from entitlements.group_rules import CertificationRule
from entitlements.models import Certification
from entitlements.services.checklist import CertificationChecklistRecords


def test_the_certification_rule_runs_on_every_group_write():
    assert [type(rule) for rule in group_rules()].count(CertificationRule) == 1


def test_the_gateway_reads_and_records_the_checklist_through_entitlements():
    assert isinstance(certification_checklist.checklist_records(), CertificationChecklistRecords)


def test_a_client_reads_its_certifications_and_their_trail():
    assert Certification in visibility.AUDITED_DOMAIN_MODELS


@pytest.mark.django_db
def test_without_a_registration_the_gateway_watches_no_target(monkeypatch):
    monkeypatch.setattr(certification_checklist, "_registered", [certification_checklist._NoCertifications()])
    assert checklist_load(target_id=1) is None
    records = certification_checklist.checklist_records()
    assert records.check_record(target_id=1, name="signed_logon", at=dt.datetime.now(dt.UTC), detail="") is False
