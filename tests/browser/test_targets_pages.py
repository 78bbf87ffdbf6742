"""Targets in a real browser: a client lists its targets, opens a CGW target's connection sheet
and an MSGW target's (grouped by market segment), downloads the sheet as CSV, opens the printable
page, asks for a re-check, generates a key pair after confirming who they are (the Secret Key
shown once, the key file downloaded) and revokes it."""

import csv
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dropcopy_admin.choices import GatewayType, TargetStatus
from dropcopy_admin.models import CheckOutcome, CheckStage, KeyPair, TargetAddress, TargetSession
from dropcopy_admin.portal.targets import SHEET_HEADER
from dropcopy_admin.services.keys import KEY_FILE_HEADER
from tests import factories
from tests.browser.conftest import PASSWORD
from tests.portal.test_targets import build_target, check, check_all

pytestmark = [
    pytest.mark.browser,
    # The reference data (venues, gateways, port ranges) comes from migrations: restore it.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TARGETS = "/portal/targets/"


def read_csv(download, tmp_path, name) -> list[list[str]]:
    saved = tmp_path / name
    download.save_as(saved)
    with Path(saved).open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_a_client_without_targets_is_told_what_to_do(log_in, client_user, look):
    page = log_in("client", TARGETS)
    assert page.get_by_role("heading", name="Target sessions").is_visible()
    assert "no target session yet" in page.get_by_test_id("targets-empty").inner_text()
    look("targets-empty")


def test_a_client_reads_a_targets_sheet_downloads_it_and_manages_its_keys(
    log_in, live_server, client_user, client_entity, look, tmp_path
):
    group = factories.GroupFactory(entity=client_entity, name="Alpha CME Production")
    cgw = build_target(client_entity, group=group)
    primary, backup = cgw.addresses.order_by("id")
    check(cgw, primary, rtt_ms=8.5)
    check(cgw, backup, outcome=CheckOutcome.FAILED, stage=CheckStage.CONNECT, detail="Connection refused")
    TargetSession.objects.filter(pk=cgw.pk).update(status=TargetStatus.DEGRADED)
    msgw = build_target(
        client_entity,
        group=factories.GroupFactory(entity=client_entity, name="Alpha MSGW"),
        gateway_type=GatewayType.MSGW,
    )
    check_all(msgw)
    build_target(factories.EntityFactory(code="BETA"))  # another entity's: never shown

    page = log_in("client", TARGETS)
    assert page.get_by_test_id("target-row").count() == 2
    row = page.locator(f'tr[data-target-id="{cgw.pk}"]')
    assert "Alpha CME Production" in row.inner_text()
    assert row.get_by_test_id("target-status").inner_text() == "Degraded"
    look("targets")

    # The status filter swaps the results in place.
    page.get_by_label("Status").select_option("degraded")
    expect(page.get_by_test_id("target-row")).to_have_count(1)
    assert "status=degraded" in page.url

    # The CGW target's sheet: both addresses, with the latest check of each.
    page.get_by_role("link", name=cgw.target_comp_id).click()
    assert page.get_by_role("heading", name=f"Target {cgw.target_comp_id}").is_visible()
    sheet = page.get_by_test_id("sheet-table")
    assert sheet.get_by_test_id("address").count() == 2
    primary_row = sheet.locator('tr[data-role="primary"]')
    assert primary.ip in primary_row.inner_text() and primary.target_sub_id in primary_row.inner_text()
    assert "8.5 ms round trip" in primary_row.inner_text()
    assert "Failed at TCP connect" in sheet.locator('tr[data-role="backup"]').inner_text()
    look("target-cgw")

    # The sheet as CSV, checked against the database.
    with page.expect_download() as info:
        page.get_by_role("link", name="Download sheet (CSV)").click()
    assert info.value.suggested_filename == f"{cgw.target_comp_id}-connection-sheet.csv"
    rows = read_csv(info.value, tmp_path, "sheet.csv")
    assert rows[0] == SHEET_HEADER
    assert sorted((row[0], row[1], row[4], row[5]) for row in rows[1:]) == sorted(
        (cgw.target_comp_id, a.target_sub_id, a.ip, str(a.port)) for a in TargetAddress.objects.filter(target=cgw)
    )

    # The printable page, whose button prints.
    page.get_by_role("link", name="Printable sheet").click()
    assert page.get_by_role("heading", name=f"Connection sheet of {cgw.target_comp_id}").is_visible()
    look("target-print")
    page.emulate_media(media="print")  # the print stylesheet: the sheet without the navigation or buttons
    assert not page.get_by_role("button", name="Print").is_visible()
    assert not page.get_by_role("navigation", name="Main").is_visible()
    assert page.get_by_test_id("sheet-table").is_visible()
    page.emulate_media(media="screen")
    page.evaluate("() => { window.print = () => { window.printed = true; }; }")
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("() => window.printed === true")
    page.get_by_role("link", name="Back to the target").click()

    # A re-check: the button becomes the time it was asked for.
    page.get_by_role("button", name="Re-check now").click()
    assert "Re-check requested at" in page.get_by_test_id("recheck-requested").inner_text()
    cgw.refresh_from_db()
    assert cgw.verification_requested_at is not None

    # A key pair: confirm who you are, then the secret once.
    page.get_by_role("button", name=f"Generate key pair for {cgw.target_comp_id}").click()
    assert page.get_by_role("heading", name="Confirm it is you").is_visible()
    look("target-step-up")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Confirm and generate key pair").click()
    assert "That password is not right" in page.get_by_role("alert").inner_text()
    assert not KeyPair.objects.filter(target=cgw).exists()
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_response(lambda response: "/key-pair/" in response.url) as answer:
        page.get_by_role("button", name="Confirm and generate key pair").click()
    assert "no-store" in answer.value.headers["cache-control"]
    key_pair = KeyPair.objects.get(target=cgw, is_probe=False)
    assert page.get_by_role("heading", name=f"Key pair created for {cgw.target_comp_id}").is_visible()
    secret = page.get_by_test_id("secret-key").inner_text()
    assert len(secret) == 43
    look("target-key-created")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download key file").click()
    key_rows = read_csv(info.value, tmp_path, "key.csv")
    assert key_rows[0] == KEY_FILE_HEADER
    assert key_rows[1][:3] == [cgw.target_comp_id, key_pair.access_key_id, secret]

    # Back on the target's page the Access Key ID is listed, the secret is not.
    page.get_by_role("link", name="Done").click()
    keys_row = page.locator(f'tr[data-access-key-id="{key_pair.access_key_id}"]')
    assert keys_row.get_by_test_id("key-pair-state").inner_text() == "Live"
    assert "by client" in keys_row.inner_text()
    assert secret not in page.content()
    page.reload()
    assert secret not in page.content()

    # Revoke it, after the confirmation.
    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    keys_row.get_by_role("button", name=f"Revoke key pair {key_pair.access_key_id}").click()
    assert page.get_by_test_id("message-success").inner_text().startswith(f"Key pair {key_pair.access_key_id}")
    assert dialogs and dialogs[0].startswith(f"Revoke key pair {key_pair.access_key_id}")
    key_pair.refresh_from_db()
    assert key_pair.revoked_at is not None
    assert keys_row.get_by_test_id("key-pair-state").inner_text() == "Revoked"

    # The MSGW target: 76 addresses in 38 rows, one per market segment.
    page.goto(f"{live_server.url}/portal/targets/{msgw.pk}/")
    sheet = page.get_by_test_id("sheet-table")
    assert sheet.get_by_test_id("segment-row").count() == 38
    assert sheet.get_by_test_id("address").count() == 76
    segment_7 = sheet.locator('tr[data-segment="7"]')
    for address in TargetAddress.objects.filter(target=msgw, market_segment=7):
        assert f"{address.ip}:{address.port}" in segment_7.inner_text()
        assert address.target_sub_id in segment_7.inner_text()
    look("target-msgw")
