"""An account manager reviews a certification's checklist in the admin and passes it, in a real
browser (R9): the checklist shows what the gateway recorded, the action asks for a note, and the
AutoCert+ target is rescinded."""

import datetime as dt

import pytest

from dropcopy_admin import clock
from dropcopy_admin.choices import CertificationCheckName, CertificationStatus, GatewayType, TargetStatus
from entitlements.models import Certification, CertificationCheck
from entitlements.services.temporary_targets import certification_request
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CERTIFICATIONS = "/admin/entitlements/certification/"


@pytest.fixture
def certification(account_manager):
    entity = factories.EntityFactory(code="ACME", name="Acme Trading")
    system = factories.FrontEndSystemFactory(entity=entity, name="AcmeDesk", version="2.0")
    certification = certification_request(
        actor=account_manager,
        entity=entity,
        front_end_system=system,
        venue=factories.venue("CME"),
        gateway_type=GatewayType.CGW,
    )
    shown_at = clock.now() + dt.timedelta(hours=49)
    shown = [CertificationCheckName.SIGNED_LOGON, CertificationCheckName.HEARTBEATS]
    CertificationCheck.objects.filter(certification=certification, name__in=shown).update(passed_at=shown_at)
    return certification


def test_the_account_manager_reads_the_checklist_then_passes_with_a_note(log_in, certification):
    page = log_in("am", CERTIFICATIONS)
    row = page.locator("#result_list tbody tr").filter(has_text="AcmeDesk")
    assert row.locator("td.field-checklist_progress").inner_text() == "2/5"

    row.locator("th a").click()
    page.wait_for_load_state()
    checklist = page.locator("div.field-checklist")
    assert checklist.locator("li").count() == 5
    assert "not shown yet" in checklist.locator("li").filter(has_text="TestRequest").inner_text()
    assert "not shown yet" not in checklist.locator("li").filter(has_text="Signed logon").inner_text()

    page.goto(page.url.split("/admin/")[0] + CERTIFICATIONS)
    page.locator("#result_list tbody tr").filter(has_text="AcmeDesk").locator('input[name="_selected_action"]').check()
    page.locator('select[name="action"]').select_option("pass_certifications")
    page.get_by_role("button", name="Go").click()
    page.wait_for_load_state()
    note = page.get_by_label("Note")
    assert note.get_attribute("required") is not None  # no decision without a note
    assert Certification.objects.get(pk=certification.pk).status == CertificationStatus.REQUESTED
    page.get_by_label("Note").fill("Checked with the vendor: heartbeats and logon shown; rest signed off.")
    page.get_by_role("button", name="Yes, pass them").click()
    page.wait_for_load_state()

    assert "passed" in page.locator("ul.messagelist li.success").inner_text()
    certification = Certification.objects.select_related("target").get(pk=certification.pk)
    assert certification.status == CertificationStatus.PASSED
    assert certification.note.startswith("Checked with the vendor")
    assert certification.target.status == TargetStatus.CLOSED
