"""Groups in a real browser: the creation wizard from the fee dialog to a submitted production
group (the target-impact preview and the fee confirmation checked against the database), a stale
fee explained, sessions added by paste with an unknown SenderCompID reported, a membership
withdrawn, a group edited and closed."""

import re

import pytest
from playwright.sync_api import expect

from dropcopy_admin.choices import Environment, GroupStatus, MembershipStatus
from dropcopy_admin.models import DropCopyGroup, Membership
from tests import factories

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

GROUPS = "/portal/groups/"


@pytest.fixture
def system(client_entity):
    system = factories.FrontEndSystemFactory(entity=client_entity, name="AlphaDesk", version="2.1")
    factories.passed_certification(system, entity=client_entity)
    return system


def _wizard_step(page, step):
    """Wait for the step, and for htmx to have settled it (its new inputs listen only then)."""
    expect(page.locator(f'#wizard[data-step="{step}"]')).to_be_visible()
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )
    page.wait_for_timeout(100)


def _walk_to_review(page, *, name, system, pasted=(), searched=None):
    page.get_by_role("link", name="Create a group").click()
    _wizard_step(page, "fee")
    page.get_by_role("button", name="Proceed").click()
    _wizard_step(page, "details")
    page.get_by_label("Group name").fill(name)
    page.get_by_label("Venue").select_option("CME")
    page.get_by_label("Environment").select_option("PRODUCTION")
    page.get_by_label("Front-end system").select_option(str(system.pk))
    page.get_by_role("button", name="Next").click()
    _wizard_step(page, "filters")
    page.get_by_label("Acknowledgements").check()
    page.get_by_role("button", name="Next").click()
    _wizard_step(page, "sessions")
    if searched is not None:
        page.get_by_label(re.compile("^Search SenderCompIDs")).fill(searched.sender_comp_id[:5])
        page.get_by_label(searched.sender_comp_id).check()
    page.get_by_label("Paste SenderCompIDs").fill("\n".join(s.sender_comp_id for s in pasted))
    page.get_by_role("button", name="Next").click()
    _wizard_step(page, "review")


def test_wizard_from_fee_dialog_to_a_production_group(
    log_in, page, look, client_user, client_entity, system, clearing_firm
):
    own = factories.SourceSessionFactory(gfid__entity=client_entity, gfid__clearing_firm=None)
    guaranteed = factories.SourceSessionFactory(gfid__entity=client_entity, gfid__clearing_firm=clearing_firm)
    log_in("client", GROUPS)
    expect(page.get_by_test_id("groups-empty")).to_contain_text("no Drop Copy group yet")
    look("groups-empty")

    page.get_by_role("link", name="Create a group").click()
    _wizard_step(page, "fee")
    expect(page.get_by_test_id("fee-dialog")).to_contain_text(
        "Your entity has 0 production groups billed this month. One more production group would be its 1st: "
        "free (the first group is free)."
    )
    look("group-wizard-fee")
    page.get_by_role("button", name="Proceed").click()
    _wizard_step(page, "details")
    look("group-wizard-name")

    # Errors beside their fields, then the real values.
    page.get_by_role("button", name="Next").click()
    _wizard_step(page, "details")
    expect(page.locator(".errorlist").first).to_be_visible()
    look("group-wizard-errors")
    page.get_by_label("Group name").fill("Alpha CME Production")
    page.get_by_label("Venue").select_option("CME")
    page.get_by_label("Environment").select_option("PRODUCTION")
    page.get_by_label("Front-end system").select_option(str(system.pk))
    page.get_by_role("button", name="Next").click()
    _wizard_step(page, "filters")
    expect(page.get_by_text("Always sent: Fills, Trade busts.")).to_be_visible()
    page.get_by_label("Acknowledgements").check()
    look("group-wizard-filters")
    page.get_by_role("button", name="Next").click()
    _wizard_step(page, "sessions")

    # Search as you type (htmx) finds the entity's session; the other is pasted.
    page.get_by_label(re.compile("^Search SenderCompIDs")).fill(own.sender_comp_id[:5])
    page.get_by_label(own.sender_comp_id).check()
    page.get_by_label("Paste SenderCompIDs").fill(guaranteed.sender_comp_id)
    look("group-wizard-sessions")
    page.get_by_role("button", name="Next").click()
    _wizard_step(page, "review")

    expect(page.get_by_test_id("review-sessions")).to_contain_text(own.sender_comp_id)
    expect(page.get_by_test_id("review-sessions")).to_contain_text(guaranteed.sender_comp_id)
    expect(page.get_by_test_id("target-impact")).to_contain_text(
        "iLink gateway CGW1 (convenience gateway): 1 new target opens for 2 sessions"
    )
    expect(page.get_by_test_id("fee-confirmation")).to_have_text(
        "This is your entity's 1st production group: free (the first group is free)."
    )
    look("group-wizard-review")
    assert not DropCopyGroup.objects.exists()

    page.get_by_role("button", name="Confirm the fee and create the group").click()
    expect(page.get_by_test_id("group-name")).to_have_text("Alpha CME Production")
    group = DropCopyGroup.objects.get()
    assert (group.environment, group.front_end_system_id, group.message_filters) == (
        Environment.PRODUCTION,
        system.pk,
        ["acks", "fills", "trade_busts"],
    )
    statuses = dict(Membership.objects.filter(group=group).values_list("source_session_id", "status"))
    assert statuses == {own.pk: MembershipStatus.APPROVED, guaranteed.pk: MembershipStatus.PENDING}
    expect(page.get_by_test_id("message-success").first).to_contain_text("Group Alpha CME Production created.")
    row = page.locator(f'tr[data-sender-comp-id="{guaranteed.sender_comp_id}"]')
    expect(row).to_contain_text(f"Waits for {clearing_firm.name}")
    expect(page.get_by_test_id("target")).to_have_count(group.targets.count())
    look("group-detail")

    page.get_by_role("link", name="All groups").click()
    expect(page.get_by_test_id("group-row")).to_have_count(1)
    expect(page.get_by_test_id("group-sessions")).to_have_text("1 approved, 1 pending")
    look("groups")

    # The filters answer in place (htmx) as the name is typed.
    page.get_by_label("Name contains").fill("no such group")
    expect(page.get_by_test_id("groups-empty")).to_contain_text("No group matches these filters")
    assert "q=no%20such%20group" in page.url
    page.get_by_label("Name contains").fill("alpha")
    expect(page.get_by_test_id("group-row")).to_have_count(1)


def test_stale_fee_is_explained_and_confirmed_again(log_in, page, look, client_user, client_entity, system):
    session = factories.SourceSessionFactory(gfid__entity=client_entity)
    log_in("client", GROUPS)
    _walk_to_review(page, name="Beta", system=system, pasted=[session])
    expect(page.get_by_test_id("fee-confirmation")).to_contain_text("1st production group: free")

    factories.GroupFactory(entity=client_entity, name="Opened by a colleague")  # the free slot goes
    page.get_by_role("button", name="Confirm the fee and create the group").click()
    expect(page.get_by_test_id("fee-changed")).to_contain_text(
        "The fee changed while you were deciding: one more production group now costs 500.00 USD a month."
    )
    expect(page.get_by_test_id("fee-confirmation")).to_contain_text("2nd production group: 500.00 USD a month from 1 ")
    look("group-wizard-stale-fee")
    assert list(DropCopyGroup.objects.values_list("name", flat=True)) == ["Opened by a colleague"]

    page.get_by_role("button", name="Confirm the fee and create the group").click()
    expect(page.get_by_test_id("group-name")).to_have_text("Beta")
    assert DropCopyGroup.objects.filter(name="Beta", environment=Environment.PRODUCTION).exists()


def test_add_sessions_by_paste_with_an_unknown_one(log_in, page, look, client_user, client_entity, clearing_firm):
    group = factories.GroupFactory(entity=client_entity, name="Gamma", environment=Environment.NEW_RELEASE)
    first = factories.SourceSessionFactory(
        gfid__entity=client_entity, gfid__clearing_firm=None, environment=Environment.NEW_RELEASE
    )
    second = factories.SourceSessionFactory(
        gfid__entity=client_entity, gfid__clearing_firm=clearing_firm, environment=Environment.NEW_RELEASE
    )
    log_in("client", f"/portal/groups/{group.pk}/")
    page.get_by_role("link", name="Add sessions").first.click()
    look("group-add-sessions")
    page.get_by_label("Paste SenderCompIDs").fill(f"{first.sender_comp_id}, NOSUCH9\n{second.sender_comp_id}")
    page.get_by_role("button", name="Preview what this opens").click()
    expect(page.get_by_test_id("paste-errors")).to_have_text(
        "NOSUCH9: no session with this SenderCompID that your entity may use."
    )
    look("group-add-sessions-errors")

    page.get_by_label("Paste SenderCompIDs").fill(f"{first.sender_comp_id}\n{second.sender_comp_id}")
    page.get_by_role("button", name="Preview what this opens").click()
    expect(page.get_by_test_id("target-impact")).to_contain_text("1 new target opens for 2 sessions")
    look("group-add-sessions-preview")
    assert not Membership.objects.filter(group=group).exists()
    page.get_by_role("button", name="Request these sessions").click()
    expect(page.locator('[data-testid="outcome"][data-kind="approved"]')).to_contain_text(first.sender_comp_id)
    expect(page.locator('[data-testid="outcome"][data-kind="pending"]')).to_contain_text(
        f"Pending: waits for {clearing_firm.name} to decide."
    )
    look("group-add-sessions-outcomes")
    statuses = dict(Membership.objects.filter(group=group).values_list("source_session_id", "status"))
    assert statuses == {first.pk: MembershipStatus.APPROVED, second.pk: MembershipStatus.PENDING}


def test_edit_withdraw_and_close(log_in, page, look, client_user, client_entity, clearing_firm):
    group = factories.GroupFactory(entity=client_entity, name="Delta", environment=Environment.NEW_RELEASE)
    session = factories.SourceSessionFactory(
        gfid__entity=client_entity, gfid__clearing_firm=clearing_firm, environment=Environment.NEW_RELEASE
    )
    membership = factories.MembershipFactory(group=group, source_session=session, status=MembershipStatus.PENDING)
    log_in("client", f"/portal/groups/{group.pk}/")

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Group name").fill("Delta renamed")
    page.get_by_label("Rejects").check()
    look("group-edit")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("group-filters")).to_have_text("Fills, Trade busts, Rejects")
    group.refresh_from_db()
    assert group.name == "Delta renamed" and group.message_filters == ["fills", "trade_busts", "rejects"]

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Withdraw {session.sender_comp_id}").click()
    expect(page.get_by_test_id("message-success")).to_have_text(f"{session.sender_comp_id} withdrawn.")
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.WITHDRAWN

    page.get_by_role("link", name="Close the group").click()
    expect(page.get_by_test_id("close-bill")).to_have_text(
        "New Release groups are not billed: closing changes nothing on your bill."
    )
    look("group-close")
    page.get_by_role("button", name="Close Delta renamed").click()
    expect(page.get_by_test_id("group-status")).to_contain_text("Closed")
    group.refresh_from_db()
    assert group.status == GroupStatus.CLOSED


def test_close_production_group_explains_the_bill(log_in, page, look, client_user, client_entity):
    group = factories.GroupFactory(entity=client_entity, name="Epsilon")
    log_in("client", f"/portal/groups/{group.pk}/close/")
    expect(page.get_by_test_id("close-bill")).to_contain_text("is still billed for it")
    expect(page.get_by_test_id("close-bill")).to_contain_text("one production group fewer: 0 instead of 1")
    look("group-close-production")
