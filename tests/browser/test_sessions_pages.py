"""The session pages in a real browser: a client registers a session (an error first, beside its
field), filters the list as it types, imports a CSV file with a bad line (the upload's progress,
the bad line reported by number and reason, the good rows stored, the bad lines downloaded), and
imports SenderCompIDs into a group with an unknown line. axe-core and screenshots on every state."""

import csv
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dropcopy_admin.choices import MembershipStatus
from dropcopy_admin.models import Membership, SourceSession
from dropcopy_admin.services.source_sessions import IMPORT_HEADER
from tests import factories

pytestmark = [
    pytest.mark.browser,
    # The reference data (venues, gateways, port ranges) comes from migrations: restore it.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SESSIONS = "/portal/sessions/"
IMPORT = "/portal/sessions/import/"

# Every text the upload component's status takes, and the progress bar's value, as they change
# (the component is replaced by the answer, so they are recorded as they happen).
RECORD_UPLOAD = """() => {
  window.uploadStatuses = [];
  window.uploadProgress = [];
  document.addEventListener('htmx:xhr:progress', (event) => {
    window.uploadProgress.push([event.detail.loaded, event.detail.total]);
  });
  new MutationObserver(() => {
    const status = document.querySelector('[data-upload-status]');
    const bar = document.querySelector('[data-upload-bar]');
    if (status && status.textContent && !window.uploadStatuses.includes(status.textContent)) {
      window.uploadStatuses.push(status.textContent);
    }
    if (bar && !bar.hidden) { window.uploadBarShown = true; }
  }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


@pytest.fixture
def gfid(client_entity, clearing_firm):
    return factories.GfidFactory(code="ACM", entity=client_entity, clearing_firm=clearing_firm)


def csv_file(text: str, name: str = "sessions.csv") -> dict:
    return {"name": name, "mimeType": "text/csv", "buffer": text.encode()}


def test_client_registers_a_session_after_an_error_beside_its_field(log_in, look, client_user, gfid):
    other = factories.EntityFactory(code="OTHER")
    factories.SourceSessionFactory(gfid=factories.GfidFactory(code="OTH", entity=other), sender_comp_id="S09OTHN")
    page = log_in("client", SESSIONS)
    assert page.get_by_role("link", name="Sessions").get_attribute("aria-current") == "page"
    assert "Your entity has no source sessions yet" in page.get_by_test_id("sessions-empty").inner_text()
    assert "S09OTHN" not in page.content()
    look("sessions-empty")

    page.get_by_test_id("register-session").click()
    assert page.get_by_role("heading", name="Register a source session").is_visible()
    gfid_options = page.get_by_label("GFID").locator("option").all_inner_texts()
    assert gfid_options == ["Choose one of your GFIDs", "ACM (CME, guaranteed by CF1)"]
    look("session-register")

    page.get_by_label("SenderCompID").fill("S01XYZN")
    page.get_by_label("Venue").select_option("CME")
    page.get_by_label("Environment").select_option("PRODUCTION")
    page.get_by_label("Gateway type").select_option("CGW")
    page.get_by_label("iLink gateway").select_option(label="CGW1 (CME, Production)")
    page.get_by_label("GFID").select_option(label="ACM (CME, guaranteed by CF1)")
    page.get_by_role("button", name="Register session").click()
    error = page.get_by_test_id("field-sender_comp_id").get_by_test_id("error-sender_comp_id")
    assert error.inner_text() == "SenderCompID S01XYZN embeds GFID XYZ, not the session's GFID ACM."
    assert not SourceSession.objects.filter(gfid=gfid).exists()
    look("session-register-errors")

    page.get_by_label("SenderCompID").fill("S01ACMN")
    page.get_by_role("button", name="Register session").click()
    assert page.get_by_test_id("message-success").inner_text().startswith("Session S01ACMN registered")
    stored = SourceSession.objects.get(gfid=gfid)
    assert (stored.sender_comp_id, stored.gfid, stored.clearing_firm.code) == ("S01ACMN", gfid, "CF1")

    # The list, filtered as the user types (htmx swaps the results).
    second = factories.SourceSessionFactory(gfid=gfid, sender_comp_id="S02ACMN", gateway_type="MSGW", cgw_gateway=None)
    group = factories.GroupFactory(entity=client_user.entity, name="Alpha CME Production")
    factories.MembershipFactory(group=group, source_session=second, status=MembershipStatus.PENDING)
    page.goto(page.url.split("?")[0])
    assert page.get_by_test_id("sender-comp-id").all_inner_texts() == ["S01ACMN", "S02ACMN"]
    assert page.get_by_test_id("session-groups").all_inner_texts() == ["None", "Alpha CME Production (pending)"]
    page.get_by_label("SenderCompID contains").fill("s02")
    expect(page.get_by_test_id("session-row")).to_have_count(1)
    assert page.get_by_test_id("sender-comp-id").all_inner_texts() == ["S02ACMN"]
    assert "q=s02" in page.url
    page.get_by_label("SenderCompID contains").fill("")
    expect(page.get_by_test_id("session-row")).to_have_count(2)
    look("sessions")


def test_client_imports_a_csv_with_a_bad_line_and_downloads_it(log_in, look, client_user, gfid):
    page = log_in("client", IMPORT)
    assert page.get_by_test_id("import-header").inner_text() == ",".join(IMPORT_HEADER)
    with page.expect_download() as template:
        page.get_by_test_id("template-download").click()
    assert Path(template.value.path()).read_bytes() == (",".join(IMPORT_HEADER) + "\r\n").encode()
    look("sessions-import")

    page.evaluate(RECORD_UPLOAD)
    content = "\n".join(
        [
            ",".join(IMPORT_HEADER),
            "S01ACMN,CME,PRODUCTION,CGW,CGW1,ACM,",
            "S02ACMN,CME,PRODUCTION,MSGW,,ACM,",
            "S03XYZN,CME,PRODUCTION,MSGW,,ACM,",
            "S04ACMN,CME,CERT,MSGW,,ACM,",
        ]
    )
    page.get_by_label("CSV file").set_input_files(files=[csv_file(content)])
    expect(page.locator("form[data-upload]")).to_have_attribute("data-lines", "4")
    page.get_by_test_id("upload-button").click()
    result = page.get_by_test_id("import-result")
    result.wait_for()

    assert page.evaluate("window.uploadBarShown") is True
    statuses = page.evaluate("window.uploadStatuses")
    assert "Checking 4 lines…" in statuses, statuses
    progress = page.evaluate("window.uploadProgress")
    assert progress and progress[0][1] > 0 and any(loaded == total for loaded, total in progress), progress
    assert page.url.endswith(IMPORT)  # swapped into the page, not a new one

    assert page.get_by_test_id("import-created").inner_text().startswith("3 sessions registered.")
    (bad_line,) = page.get_by_test_id("bad-line").all()
    assert bad_line.get_attribute("data-line") == "4"
    cells = bad_line.locator("td").all_inner_texts()
    assert cells == ["4", "S03XYZN", "SenderCompID S03XYZN embeds GFID XYZ, not the session's GFID ACM."]
    assert set(SourceSession.objects.values_list("sender_comp_id", flat=True)) == {"S01ACMN", "S02ACMN", "S04ACMN"}

    with page.expect_download() as download:
        page.get_by_test_id("bad-lines-download").click()
    assert download.value.suggested_filename == "bad-lines.csv"
    rows = list(csv.reader(Path(download.value.path()).read_text().splitlines()))
    assert rows == [
        ["line", "problem", *IMPORT_HEADER],
        ["4", cells[2], "S03XYZN", "CME", "PRODUCTION", "MSGW", "", "ACM", ""],
    ]
    look("sessions-import-result")


def test_client_imports_sender_comp_ids_into_a_group_with_an_unknown_line(log_in, look, client_user, gfid):
    group = factories.GroupFactory(entity=client_user.entity, name="Alpha CME Production")
    factories.SourceSessionFactory(gfid=gfid, sender_comp_id="S01ACMN")
    factories.SourceSessionFactory(gfid=gfid, sender_comp_id="S02ACMN", gateway_type="MSGW", cgw_gateway=None)
    page = log_in("client", f"/portal/groups/{group.pk}/sessions/import/")
    assert page.get_by_role("heading", name="Import sessions into “Alpha CME Production”").is_visible()
    look("group-sessions-import")

    page.evaluate(RECORD_UPLOAD)
    page.get_by_label("CSV file").set_input_files(
        files=[csv_file("sender_comp_id,desk\nS01ACMN,rates\nS99ACMN,rates\nS02ACMN,fx\n", "group.csv")]
    )
    expect(page.locator("form[data-upload]")).to_have_attribute("data-lines", "3")
    page.get_by_test_id("upload-button").click()
    page.get_by_test_id("import-result").wait_for()
    assert "Checking 3 lines…" in page.evaluate("window.uploadStatuses")

    (bad_line,) = page.get_by_test_id("bad-line").all()
    assert bad_line.locator("td").all_inner_texts()[:2] == ["3", "S99ACMN"]
    assert "No session S99ACMN among your entity's sessions" in bad_line.inner_text()
    pending = page.get_by_test_id("import-pending").inner_text()
    assert pending == "2 wait for the decision of First Clearing (CF1)."
    statuses = set(Membership.objects.filter(group=group).values_list("source_session__sender_comp_id", "status"))
    assert statuses == {("S01ACMN", MembershipStatus.PENDING), ("S02ACMN", MembershipStatus.PENDING)}
    look("group-sessions-import-result")
