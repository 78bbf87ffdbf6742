"""The group pages of the portal: list, detail, edit, add sessions, withdraw, close."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dropcopy_admin.choices import Environment, GroupStatus, MembershipStatus, Role
from dropcopy_admin.models import DropCopyGroup, Membership
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(client, client_user):
    client.force_login(client_user)
    return client


@pytest.fixture
def other_entity():
    return factories.EntityFactory(code="OTHER", name="Other Trading")


def _group(entity, **fields):
    return factories.GroupFactory(entity=entity, **fields)


def _session(entity, **fields):
    return factories.SourceSessionFactory(gfid__entity=entity, **fields)


def test_list_shows_own_groups_with_counts_and_hides_another_entitys(web, client_entity, client_user, other_entity):
    group = _group(client_entity, name="Alpha CME Production")
    factories.MembershipFactory(group=group, status=MembershipStatus.APPROVED)
    factories.MembershipFactory(group=group, status=MembershipStatus.PENDING)
    factories.MembershipFactory(group=group, status=MembershipStatus.PENDING)
    _group(
        client_entity,
        name="Old closed",
        status=GroupStatus.CLOSED,
        opened_at=timezone.now() - timedelta(days=2),
        closed_at=timezone.now(),
    )
    _group(other_entity, name="Secret Other Group")

    page = web.get(reverse("portal:groups")).content.decode()

    assert "Alpha CME Production" in page
    assert "1 approved, 2 pending" in page
    assert "Old closed" not in page  # open ones by default
    assert "Secret Other Group" not in page
    closed = web.get(reverse("portal:groups"), {"status": "closed"}).content.decode()
    assert "Old closed" in closed and "Alpha CME Production" not in closed


def test_list_filters_by_name_venue_and_environment(web, client_entity):
    _group(client_entity, name="Alpha CME Production")
    _group(client_entity, name="Beta New Release", environment=Environment.NEW_RELEASE)
    page = web.get(reverse("portal:groups"), {"q": "beta"}).content.decode()
    assert "Beta New Release" in page and "Alpha CME Production" not in page
    page = web.get(reverse("portal:groups"), {"environment": "PRODUCTION", "venue": "CME"}).content.decode()
    assert "Alpha CME Production" in page and "Beta New Release" not in page


def test_list_htmx_answers_the_results_only(web, client_entity):
    _group(client_entity, name="Alpha CME Production")
    response = web.get(
        reverse("portal:groups"), {"q": "alpha"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="groups-results"
    )
    body = response.content.decode()
    assert "Alpha CME Production" in body and "<html" not in body


def test_list_empty_state_says_what_to_do(web):
    body = web.get(reverse("portal:groups")).content.decode()
    assert "no Drop Copy group yet" in body and reverse("portal:group-create") in body


def test_list_bad_filters_are_not_a_500(web):
    response = web.get(reverse("portal:groups"), {"venue": "NOPE", "environment": "X", "status": "?", "page": "zz"})
    assert response.status_code == 200


def _count_queries(web, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert web.get(url).status_code == 200
    return len(queries)


def test_list_queries_constant(web, client_entity):
    group = _group(client_entity)
    factories.MembershipFactory(group=group, status=MembershipStatus.APPROVED)
    one = _count_queries(web, reverse("portal:groups"))
    for _ in range(29):
        g = _group(client_entity)
        factories.MembershipFactory(group=g, status=MembershipStatus.PENDING)
    assert _count_queries(web, reverse("portal:groups")) == one


def test_detail_queries_constant(web, client_entity):
    group = _group(client_entity)
    factories.MembershipFactory(group=group, status=MembershipStatus.PENDING)
    url = reverse("portal:group-detail", args=[group.pk])
    one = _count_queries(web, url)
    for _ in range(29):
        factories.MembershipFactory(group=group, status=MembershipStatus.APPROVED)
    assert _count_queries(web, url) == one


def test_detail_shows_filters_in_words_and_who_decides(web, client_entity, clearing_firm):
    group = _group(client_entity, name="Alpha", message_filters=["acks", "fills", "trade_busts"])
    session = _session(client_entity, gfid__clearing_firm=clearing_firm)
    factories.MembershipFactory(group=group, source_session=session, status=MembershipStatus.PENDING)
    body = web.get(reverse("portal:group-detail", args=[group.pk])).content.decode()
    assert "Acknowledgements, Fills, Trade busts" in body
    assert f"Waits for {clearing_firm.name}" in body
    assert session.sender_comp_id in body
    assert "fills" not in body.replace("Fills", "")  # no raw values


def test_another_entitys_group_pages_are_404(web, other_entity):
    group = _group(other_entity)
    membership = factories.MembershipFactory(group=group)
    for name in ("group-detail", "group-edit", "group-add-sessions", "group-close"):
        assert web.get(reverse(f"portal:{name}", args=[group.pk])).status_code == 404
    assert web.post(reverse("portal:group-close", args=[group.pk])).status_code == 404
    url = reverse("portal:group-membership-withdraw", args=[group.pk, membership.pk])
    assert web.post(url).status_code == 404
    assert DropCopyGroup.objects.get(pk=group.pk).status == GroupStatus.ACTIVE


def test_clearing_firm_user_is_refused(client, clearing_user):
    client.force_login(clearing_user)
    assert client.get(reverse("portal:groups")).status_code == 403


def test_withdraw_pending_membership(web, client_entity, clearing_firm):
    group = _group(client_entity)
    session = _session(client_entity, gfid__clearing_firm=clearing_firm)
    membership = factories.MembershipFactory(group=group, source_session=session, status=MembershipStatus.PENDING)
    response = web.post(reverse("portal:group-membership-withdraw", args=[group.pk, membership.pk]), follow=True)
    assert f"{session.sender_comp_id} withdrawn." in response.content.decode()
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.WITHDRAWN


def test_withdraw_twice_is_explained_not_500(web, client_entity):
    group = _group(client_entity)
    membership = factories.MembershipFactory(group=group, status=MembershipStatus.WITHDRAWN)
    response = web.post(reverse("portal:group-membership-withdraw", args=[group.pk, membership.pk]), follow=True)
    assert response.status_code == 200
    assert "can be neither withdrawn nor removed" in response.content.decode()


def test_edit_saves_name_and_filters(web, client_entity):
    group = _group(client_entity, name="Alpha", environment=Environment.NEW_RELEASE)
    response = web.post(
        reverse("portal:group-edit", args=[group.pk]),
        {"name": "Alpha renamed", "front_end_system": group.front_end_system_id, "message_filters": ["rejects"]},
    )
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.name == "Alpha renamed"
    assert group.message_filters == ["fills", "trade_busts", "rejects"]


def test_edit_errors_beside_fields(web, client_entity):
    group = _group(client_entity, name="Alpha")
    _group(client_entity, name="Taken")
    uncertified = factories.FrontEndSystemFactory(entity=client_entity, name="Uncert")
    response = web.post(
        reverse("portal:group-edit", args=[group.pk]),
        {"name": "Taken", "front_end_system": group.front_end_system_id, "message_filters": ["nonsense"]},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Select a valid choice" in body
    response = web.post(
        reverse("portal:group-edit", args=[group.pk]),
        {"name": "Taken", "front_end_system": group.front_end_system_id},
    )
    assert "already has an open group named" in response.content.decode()
    response = web.post(
        reverse("portal:group-edit", args=[group.pk]),
        {"name": "Alpha", "front_end_system": uncertified.pk},
    )
    body = response.content.decode()
    assert "has no passed certification" in body and "certification_required" not in body
    group.refresh_from_db()
    assert group.name == "Alpha" and group.front_end_system_id != uncertified.pk


def test_add_sessions_preview_then_submit_with_outcomes(web, client_entity, clearing_firm, other_entity):
    group = _group(client_entity, environment=Environment.PRODUCTION)
    own = _session(client_entity, gfid__clearing_firm=None, clearing_firm=None)
    guaranteed = _session(client_entity, gfid__clearing_firm=clearing_firm)
    foreign = _session(other_entity)
    url = reverse("portal:group-add-sessions", args=[group.pk])

    paste = f"{own.sender_comp_id}, {guaranteed.sender_comp_id}\n{foreign.sender_comp_id}\nNOSUCH1"
    response = web.post(url, {"sender_comp_ids": paste, "go": "preview"})
    body = response.content.decode()
    assert response.status_code == 400
    assert f"{foreign.sender_comp_id}: no session with this SenderCompID that your entity may use." in body
    assert "NOSUCH1: no session" in body

    response = web.post(url, {"sender_comp_ids": f"{own.sender_comp_id}\n{guaranteed.sender_comp_id}", "go": "preview"})
    body = response.content.decode()
    assert "What this opens" in body and "1 new target opens for 2 sessions" in body
    assert not Membership.objects.filter(group=group).exists()

    response = web.post(url, {"sessions": [own.pk, guaranteed.pk], "go": "submit"})
    body = response.content.decode()
    assert "Approved automatically" in body and f"Pending: waits for {clearing_firm.name}" in body
    statuses = dict(Membership.objects.filter(group=group).values_list("source_session_id", "status"))
    assert statuses == {own.pk: MembershipStatus.APPROVED, guaranteed.pk: MembershipStatus.PENDING}


def test_session_search_offers_only_readable_sessions(web, client_entity, other_entity):
    mine = _session(client_entity)
    theirs = _session(other_entity)
    url = reverse("portal:group-session-search")
    for session in (mine, theirs):
        body = web.get(url, {"venue": "CME", "environment": "PRODUCTION", "q": session.sender_comp_id[:5]}).content
        if session is mine:
            assert mine.sender_comp_id in body.decode()
    body = web.get(url, {"venue": "CME", "environment": "PRODUCTION", "q": theirs.sender_comp_id}).content.decode()
    assert 'data-testid="search-results"' not in body and "No session of yours matches" in body
    assert web.get(url, {"venue": "??", "environment": "x", "q": "A"}).status_code == 200


def test_close_page_explains_bill_then_closes(web, client_entity):
    group = _group(client_entity, name="Alpha")
    factories.MembershipFactory(group=group, status=MembershipStatus.APPROVED)
    url = reverse("portal:group-close", args=[group.pk])
    body = web.get(url).content.decode()
    assert "is still billed for it" in body and "one production group fewer" in body
    assert "1 approved session leaves" in body
    response = web.post(url)
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.status == GroupStatus.CLOSED
    assert web.post(url, follow=True).status_code == 200


def test_not_self_service_entity_cannot_write(client, other_entity):
    entity = factories.EntityFactory(self_service=False)
    user = factories.UserFactory(role=Role.CLIENT, entity=entity)
    client.force_login(user)
    group = _group(entity, name="Managed")
    response = client.post(reverse("portal:group-close", args=[group.pk]), follow=True)
    assert response.status_code == 200
    group.refresh_from_db()
    assert group.status == GroupStatus.ACTIVE


def test_add_sessions_reports_a_refused_session_and_why(web, client_entity):
    group = _group(client_entity, environment=Environment.PRODUCTION)
    already = _session(client_entity, gfid__clearing_firm=None, clearing_firm=None)
    factories.MembershipFactory(group=group, source_session=already, status=MembershipStatus.PENDING)
    url = reverse("portal:group-add-sessions", args=[group.pk])
    body = web.post(url, {"sessions": [already.pk], "go": "submit"}).content.decode()
    assert "Refused:" in body and already.sender_comp_id in body
    assert "duplicate_membership" not in body
    assert Membership.objects.filter(group=group).count() == 1
