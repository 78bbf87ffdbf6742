"""Temporary targets in a real browser: a client requests a New Release test target and a
certification, generates a key pair and downloads its key file, the Secret Key shown once (R9,
R10, R11); an account manager renews one test target and rescinds another."""

import csv
import datetime as dt
from pathlib import Path

import pytest

from dropcopy_admin.choices import CertificationStatus, GatewayType, TargetStatus, TemporaryKind
from dropcopy_admin.models import KeyPair, TargetSession
from dropcopy_admin.services.audit import SystemActor
from dropcopy_admin.services.keys import KEY_FILE_HEADER
from entitlements.models import Certification
from entitlements.services import temporary_targets
from tests import factories
from tests.browser.conftest import PASSWORD

pytestmark = [
    pytest.mark.browser,
    # The reference data (venues, gateways, port ranges) comes from migrations: restore it.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TEST_TARGETS = "/portal/test-targets/"
CERTIFICATIONS = "/portal/certifications/"
TEMPORARY_TARGETS = "/portal/temporary-targets/"
SYSTEM = SystemActor("browser_tests")


def new_test_target(entity, gateway_type=GatewayType.CGW) -> TargetSession:
    return temporary_targets.new_release_target_request(
        actor=SYSTEM, entity=entity, venue=factories.venue("CME"), gateway_type=gateway_type
    )


def test_client_requests_a_test_target_and_downloads_its_key_once(log_in, client_user, client_entity, tmp_path):
    page = log_in("client", TEST_TARGETS)
    assert page.get_by_role("heading", name="New Release test targets").is_visible()
    assert page.get_by_role("link", name="Test targets").get_attribute("aria-current") == "page"

    page.get_by_label("Venue").select_option("CME")
    page.get_by_label("Gateway type").select_option("CGW")
    page.get_by_role("button", name="Request test target").click()
    target = TargetSession.objects.get(temporary=TemporaryKind.NEW_RELEASE)
    assert target.entity == client_entity
    assert page.get_by_test_id("message-success").inner_text() == (
        f"New Release test target {target.target_comp_id} requested on CME CGW."
    )
    row = page.locator(f'tr[data-target-id="{target.pk}"]')
    assert row.get_by_test_id("target-comp-id").inner_text() == target.target_comp_id
    assert row.get_by_test_id("address").count() == 2
    assert f":{target.port}" in row.inner_text()

    # The step-up: the password again before the key pair is generated.
    row.get_by_role("button", name=f"Generate key pair for {target.target_comp_id}").click()
    assert page.get_by_role("heading", name="Confirm it is you").is_visible()
    assert not KeyPair.objects.filter(target=target, is_probe=False).exists()
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_response(lambda response: "/key-pair/" in response.url) as answer:
        page.get_by_role("button", name="Confirm and generate key pair").click()
    assert "no-store" in answer.value.headers["cache-control"]
    key_pair = KeyPair.objects.get(target=target, is_probe=False)
    assert page.get_by_role("heading", name=f"Key pair created for {target.target_comp_id}").is_visible()
    assert "only time the Secret Key is shown" in page.get_by_role("alert").inner_text()
    assert page.get_by_test_id("access-key-id").inner_text() == key_pair.access_key_id
    secret = page.get_by_test_id("secret-key").inner_text()
    assert len(secret) == 43

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download key file").click()
    download = download_info.value
    assert download.suggested_filename == f"{target.target_comp_id}-{key_pair.access_key_id}.csv"
    saved = tmp_path / "key.csv"
    download.save_as(saved)
    with Path(saved).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert ",".join(rows[0]) == "Session ID,Access Key ID,Secret Key,Creation Date,Expiration Date,Environment"
    assert rows[0] == KEY_FILE_HEADER
    assert rows[1][:3] == [target.target_comp_id, key_pair.access_key_id, secret]
    assert rows[1][5] == "NEW_RELEASE"

    # Back on the list, the pair is known by its Access Key ID only.
    page.get_by_role("link", name="Done").click()
    assert page.url.endswith(TEST_TARGETS)
    assert secret not in page.content()
    assert key_pair.access_key_id in page.locator(f'tr[data-target-id="{target.pk}"]').inner_text()


def test_client_requests_a_certification_and_sees_its_checklist(log_in, client_user, client_entity):
    system = factories.FrontEndSystemFactory(entity=client_entity, name="AcmeDesk", version="2.1")
    page = log_in("client", CERTIFICATIONS)
    page.get_by_label("Front-end system").select_option(str(system.pk))
    page.get_by_label("Venue").select_option("CME")
    page.get_by_label("Gateway type").select_option("MSGW")
    page.get_by_role("button", name="Request certification").click()
    assert page.get_by_test_id("message-success").inner_text().startswith("Certification requested for AcmeDesk")
    certification = Certification.objects.get()
    assert certification.status == CertificationStatus.REQUESTED
    section = page.locator(f'[data-certification-id="{certification.pk}"]')
    assert section.get_by_test_id("certification-status").inner_text() == "Requested"
    assert section.get_by_test_id("target-comp-id").inner_text() == certification.target.target_comp_id
    assert section.get_by_test_id("check").count() == 5

    # A gateway type the venue does not offer is a message, not a request.
    page.get_by_label("Front-end system").select_option(str(system.pk))
    page.get_by_label("Venue").select_option("BROKERTEC")
    page.get_by_label("Gateway type").select_option("CGW")
    page.get_by_role("button", name="Request certification").click()
    assert page.get_by_test_id("message-error").inner_text() == "BROKERTEC does not offer CGW sessions."
    assert Certification.objects.count() == 1


def test_account_manager_renews_one_test_target_and_rescinds_another(log_in, account_manager, client_entity):
    to_renew = new_test_target(client_entity)
    to_rescind = new_test_target(client_entity, gateway_type=GatewayType.MSGW)
    expires_at = to_renew.expires_at
    page = log_in("am", TEMPORARY_TARGETS)
    assert page.get_by_role("link", name="Temporary targets").get_attribute("aria-current") == "page"
    assert page.get_by_test_id("temporary-target").count() == 2

    # Dismissing the confirmation changes nothing.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name=f"Renew {to_renew.target_comp_id}").click()
    to_renew.refresh_from_db()
    assert to_renew.expires_at == expires_at

    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_role("button", name=f"Renew {to_renew.target_comp_id}").click()
    page.wait_for_load_state()
    assert dialogs == [f"Renew {to_renew.target_comp_id} for another 7 days?"]
    assert page.get_by_test_id("message-success").inner_text().startswith(f"Renewed {to_renew.target_comp_id}")
    to_renew.refresh_from_db()
    assert to_renew.expires_at == expires_at + dt.timedelta(days=7)

    page.once("dialog", accept)
    page.get_by_role("button", name=f"Rescind {to_rescind.target_comp_id}").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("message-success").inner_text() == (
        f"Rescinded {to_rescind.target_comp_id}: closed, its keys revoked and its port freed."
    )
    to_rescind.refresh_from_db()
    assert to_rescind.status == TargetStatus.CLOSED
    assert page.get_by_test_id("temporary-target").count() == 1
    assert to_rescind.target_comp_id not in page.locator("table").inner_text()
