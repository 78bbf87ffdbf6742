"""The clearing firm's approval queue in a real browser: log in, narrow, decide, export (R8)."""

import csv
import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from dropcopy_admin.choices import MembershipStatus, Role
from tests import factories

pytestmark = [
    pytest.mark.browser,
    # The reference data (venues, gateways, port ranges) comes from migrations: restore it.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

QUEUE = "/portal/approvals/"


@pytest.fixture
def queue(clearing_user, clearing_firm, client_entity):
    """Three pending requests for CF1 (two ACME CME, one BETA EBS), and one for another firm."""
    requester = factories.UserFactory(role=Role.CLIENT, entity=client_entity, username="requester")
    beta = factories.EntityFactory(code="BETA", name="Beta Capital")
    now = timezone.now().replace(microsecond=0)

    def pending(*, entity, session_id, days_old, venue="CME", firm=clearing_firm, group=None):
        gfid = factories.GfidFactory(entity=entity, clearing_firm=firm, venue=factories.venue(venue))
        session = factories.SourceSessionFactory(gfid=gfid, session_id=session_id)
        return factories.MembershipFactory(
            group=group
            or factories.GroupFactory(entity=entity, venue=factories.venue(venue), name=f"{session_id} desk"),
            source_session=session,
            requested_by=requester,
            requested_at=now - dt.timedelta(days=days_old, hours=1),
        )

    acme_group = factories.GroupFactory(entity=client_entity, name="Acme futures")
    return {
        "acme_old": pending(entity=client_entity, session_id="AA1", days_old=3, group=acme_group),
        "acme_new": pending(entity=client_entity, session_id="ZZ9", days_old=0, group=acme_group),
        "beta_ebs": pending(entity=beta, session_id="MM5", days_old=1, venue="EBS"),
        "other_firm": pending(entity=client_entity, session_id="OT7", days_old=2, firm=factories.ClearingFirmFactory()),
    }


def sender_comp_ids(page) -> list[str]:
    return page.get_by_test_id("sender-comp-id").all_inner_texts()


def scid(membership) -> str:
    return membership.source_session.sender_comp_id


def test_anonymous_user_is_sent_to_the_login_page(page, live_server):
    response = page.goto(f"{live_server.url}{QUEUE}")
    assert response.status == 200
    assert page.url == f"{live_server.url}/accounts/login/?next={QUEUE}"
    assert page.get_by_role("heading", name="Log in").is_visible()


def test_client_user_is_refused_the_queue(log_in, client_user, live_server):
    page = log_in("client")
    assert page.get_by_test_id("current-role").inner_text() == "(Client administrator, Acme Trading (ACME))"
    response = page.goto(f"{live_server.url}{QUEUE}")
    assert response.status == 403
    assert page.get_by_role("heading", name="Not allowed").is_visible()


def test_clearing_firm_user_sees_exactly_its_firms_pending_requests(log_in, queue, live_server):
    page = log_in("clearing", QUEUE)
    assert page.url == f"{live_server.url}{QUEUE}"
    assert page.get_by_test_id("current-user").inner_text() == "clearing"
    assert "Clearing firm administrator" in page.get_by_test_id("current-role").inner_text()
    # Oldest first by default; another firm's request is not there.
    assert sender_comp_ids(page) == [scid(queue["acme_old"]), scid(queue["beta_ebs"]), scid(queue["acme_new"])]
    old_row = page.locator(f'tr[data-membership-id="{queue["acme_old"].pk}"]')
    for text in ("Acme futures", "ACME", "Acme Trading", "CME / Production", "requester", "3 days"):
        assert text in old_row.inner_text()
    assert page.get_by_test_id("queue-count").inner_text().startswith("3 pending requests")


def test_filters_and_sorts_the_queue(log_in, queue):
    page = log_in("clearing", QUEUE)
    page.get_by_label("Entity").select_option("BETA")
    page.get_by_role("button", name="Apply").click()
    assert sender_comp_ids(page) == [scid(queue["beta_ebs"])]

    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Venue").select_option("CME")
    page.get_by_label("Group or SenderCompID").fill("acme fut")
    page.get_by_role("button", name="Apply").click()
    assert sender_comp_ids(page) == [scid(queue["acme_old"]), scid(queue["acme_new"])]

    # Column headers sort, and a second click reverses; the filters stay.
    page.get_by_role("link", name="SenderCompID").click()
    assert sender_comp_ids(page) == [scid(queue["acme_old"]), scid(queue["acme_new"])]
    page.get_by_role("link", name="SenderCompID").click()
    assert sender_comp_ids(page) == [scid(queue["acme_new"]), scid(queue["acme_old"])]
    assert "venue=CME" in page.url

    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Sort").select_option("-entity")
    page.get_by_role("button", name="Apply").click()
    assert sender_comp_ids(page)[0] == scid(queue["beta_ebs"])


def test_approves_two_requests_at_once(log_in, queue):
    page = log_in("clearing", QUEUE)
    first, second = queue["acme_old"], queue["beta_ebs"]
    page.get_by_label(f"Select {scid(first)} in").check()
    page.get_by_label(f"Select {scid(second)} in").check()
    page.get_by_role("button", name="Approve selected").click()

    successes = page.get_by_test_id("message-success").all_inner_texts()
    assert len(successes) == 2
    assert all(text.startswith("Approved ") for text in successes)
    assert sender_comp_ids(page) == [scid(queue["acme_new"])]
    for membership in (first, second):
        membership.refresh_from_db()
        assert membership.status == MembershipStatus.APPROVED
        assert membership.target_id is not None
        assert membership.decided_by.username == "clearing"


def test_rejects_with_a_reason_and_not_without(log_in, queue):
    page = log_in("clearing", QUEUE)
    membership = queue["acme_new"]
    page.get_by_label(f"Select {scid(membership)} in").check()
    page.get_by_role("button", name="Reject selected").click()
    assert page.get_by_test_id("message-error").all_inner_texts() == ["A reason is required to reject."]
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.PENDING

    page.get_by_label(f"Select {scid(membership)} in").check()
    page.get_by_label("Reason").fill("No agreement on file for this session")
    page.get_by_role("button", name="Reject selected").click()
    assert page.get_by_test_id("message-success").inner_text().startswith(f"Rejected {scid(membership)}")
    assert scid(membership) not in sender_comp_ids(page)
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.REJECTED
    assert membership.reason == "No agreement on file for this session"


def test_downloads_the_filtered_queue_as_csv(log_in, queue, tmp_path):
    page = log_in("clearing", f"{QUEUE}?venue=CME")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("approval-queue-")
    target = tmp_path / "queue.csv"
    download.save_as(target)
    with Path(target).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
        header = list(rows[0].keys()) if rows else []
    assert header == [
        "membership_id",
        "group",
        "entity_code",
        "entity_name",
        "sender_comp_id",
        "venue",
        "environment",
        "requested_by",
        "requested_at",
        "age_days",
    ]
    old, new = queue["acme_old"], queue["acme_new"]
    assert [(row["membership_id"], row["sender_comp_id"], row["age_days"]) for row in rows] == [
        (str(old.pk), scid(old), "3"),
        (str(new.pk), scid(new), "0"),
    ]
    assert rows[0]["group"] == "Acme futures"
    assert (rows[0]["entity_code"], rows[0]["entity_name"]) == ("ACME", "Acme Trading")
    assert (rows[0]["venue"], rows[0]["environment"], rows[0]["requested_by"]) == ("CME", "PRODUCTION", "requester")
    assert rows[0]["requested_at"] == old.requested_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
