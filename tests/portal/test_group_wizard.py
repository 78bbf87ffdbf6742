"""The group creation wizard: fee dialog, details, messages, sessions, review, submit."""

import pytest
from django.urls import reverse

from dropcopy_admin.choices import Environment, GroupStatus, MembershipStatus
from dropcopy_admin.models import DropCopyGroup, Membership, TargetSession
from tests import factories

pytestmark = pytest.mark.django_db
URL = "/portal/groups/new/"


@pytest.fixture
def web(client, client_user):
    client.force_login(client_user)
    return client


@pytest.fixture
def system(client_entity):
    system = factories.FrontEndSystemFactory(entity=client_entity, name="AlphaDesk", version="2.1")
    factories.passed_certification(system, entity=client_entity)
    return system


def _post(web, step, go="next", **data):
    return web.post(URL, {"step": step, "go": go, **data})


def _walk_to_review(web, system, sessions, name="Alpha CME Production", environment="PRODUCTION"):
    assert _post(web, "fee").status_code == 200
    response = _post(web, "details", name=name, venue="CME", environment=environment, front_end_system=system.pk)
    assert response.status_code == 200, response.content.decode()
    assert _post(web, "filters", message_filters=["acks"]).status_code == 200
    response = _post(web, "sessions", sender_comp_ids="\n".join(s.sender_comp_id for s in sessions))
    assert response.status_code == 200, response.content.decode()
    return response


def test_fee_dialog_first_with_groups_and_cost(web, client_entity):
    factories.GroupFactory(entity=client_entity)
    body = web.get(URL).content.decode()
    assert 'data-step="fee"' in body
    assert "Your entity has 1 production group billed this month" in body
    assert "One more production group would be its 2nd: 500.00 USD a month from 1 " in body


def test_cancel_on_fee_dialog_creates_nothing(web):
    response = _post(web, "fee", go="cancel")
    assert response.status_code == 302 and response["Location"] == reverse("portal:groups")
    assert not DropCopyGroup.objects.exists()


def test_steps_cannot_be_skipped(web):
    body = web.get(URL, {"step": "review"}).content.decode()
    assert 'data-step="fee"' in body
    body = _post(web, "sessions", sender_comp_ids="X").content.decode()
    assert 'data-step="fee"' in body


def test_whole_wizard_creates_production_group_and_requests(web, client_entity, system, clearing_firm):
    own = factories.SourceSessionFactory(gfid__entity=client_entity, gfid__clearing_firm=None)
    guaranteed = factories.SourceSessionFactory(gfid__entity=client_entity, gfid__clearing_firm=clearing_firm)
    review = _walk_to_review(web, system, [own, guaranteed]).content.decode()
    assert 'data-step="review"' in review
    assert "This is your entity&#x27;s 1st production group: free (the first group is free)." in review
    assert "1 new target opens for 2 sessions" in review
    assert "Acknowledgements, Fills, Trade busts" in review
    assert not DropCopyGroup.objects.exists() and not TargetSession.objects.exists()

    response = _post(web, "review", go="submit", confirmed_monthly_fee="0.00")
    assert response.status_code == 302
    group = DropCopyGroup.objects.get()
    assert response["Location"] == reverse("portal:group-detail", args=[group.pk])
    assert (group.name, group.environment, group.front_end_system, group.message_filters) == (
        "Alpha CME Production",
        Environment.PRODUCTION,
        system,
        ["acks", "fills", "trade_busts"],
    )
    statuses = dict(Membership.objects.filter(group=group).values_list("source_session_id", "status"))
    assert statuses == {own.pk: MembershipStatus.APPROVED, guaranteed.pk: MembershipStatus.PENDING}
    assert "group_wizard" not in web.session


def test_second_production_group_costs_the_tariff(web, client_entity, system):
    factories.GroupFactory(entity=client_entity)
    session = factories.SourceSessionFactory(gfid__entity=client_entity)
    review = _walk_to_review(web, system, [session], name="Second").content.decode()
    assert "This is your entity&#x27;s 2nd production group: 500.00 USD a month from 1 " in review
    assert _post(web, "review", go="submit", confirmed_monthly_fee="500.00").status_code == 302
    assert DropCopyGroup.objects.filter(name="Second").exists()


def test_stale_fee_is_explained_and_writes_nothing(web, client_entity, system):
    session = factories.SourceSessionFactory(gfid__entity=client_entity)
    review = _walk_to_review(web, system, [session]).content.decode()
    assert "1st production group: free" in review
    factories.GroupFactory(entity=client_entity, name="Created meanwhile")  # the free slot is used

    response = _post(web, "review", go="submit", confirmed_monthly_fee="0.00")
    body = response.content.decode()
    assert response.status_code == 409
    assert "The fee changed while you were deciding: one more production group now costs 500.00 USD a month" in body
    assert "2nd production group: 500.00 USD a month" in body
    assert "fee_changed" not in body
    assert list(DropCopyGroup.objects.values_list("name", flat=True)) == ["Created meanwhile"]
    assert not Membership.objects.exists()

    assert _post(web, "review", go="submit", confirmed_monthly_fee="500.00").status_code == 302
    assert DropCopyGroup.objects.filter(name="Alpha CME Production", status=GroupStatus.ACTIVE).exists()


def test_service_refusing_a_stale_fee_writes_nothing(web, client_entity, system, monkeypatch):
    """A race the page could not see: the service refuses; the review is shown again."""
    from dropcopy_admin.portal import groups as views

    session = factories.SourceSessionFactory(gfid__entity=client_entity)
    _walk_to_review(web, system, [session])
    real = views.fee_words
    calls = {"n": 0}

    def stale_once(entity, environment=None):
        calls["n"] += 1
        words = real(entity, environment)
        if calls["n"] == 1:
            factories.GroupFactory(entity=client_entity, name="Raced")
        return words

    monkeypatch.setattr(views, "fee_words", stale_once)
    response = _post(web, "review", go="submit", confirmed_monthly_fee="0.00")
    assert response.status_code == 409
    assert "The fee changed while you were deciding" in response.content.decode()
    assert list(DropCopyGroup.objects.values_list("name", flat=True)) == ["Raced"]
    assert not Membership.objects.exists()


def test_new_release_group_is_not_billed(web, client_entity, system):
    session = factories.SourceSessionFactory(gfid__entity=client_entity, environment=Environment.NEW_RELEASE)
    review = _walk_to_review(web, system, [session], environment="NEW_RELEASE").content.decode()
    assert "New Release groups are not billed." in review
    assert _post(web, "review", go="submit").status_code == 302
    assert DropCopyGroup.objects.get().environment == Environment.NEW_RELEASE


def test_details_errors_beside_fields(web, client_entity, system):
    _post(web, "fee")
    response = _post(web, "details", name="   ", venue="NOPE", environment="MARS", front_end_system="x")
    body = response.content.decode()
    assert response.status_code == 400
    assert 'data-step="details"' in body
    assert body.count('class="errorlist"') >= 4
    other_system = factories.FrontEndSystemFactory()  # another entity's
    body = _post(
        web, "details", name="A", venue="CME", environment="PRODUCTION", front_end_system=other_system.pk
    ).content.decode()
    assert "Select a valid choice" in body


def test_uncertified_system_is_sent_back_to_details_with_the_reason(web, client_entity):
    uncertified = factories.FrontEndSystemFactory(entity=client_entity, name="NoCert")
    session = factories.SourceSessionFactory(gfid__entity=client_entity)
    _walk_to_review(web, uncertified, [session])
    response = _post(web, "review", go="submit", confirmed_monthly_fee="0.00")
    body = response.content.decode()
    assert response.status_code == 400
    assert 'data-step="details"' in body and "has no passed certification" in body
    assert not DropCopyGroup.objects.exists()


def test_taken_name_is_reported_beside_the_name(web, client_entity, system):
    factories.GroupFactory(entity=client_entity, name="Alpha", environment=Environment.NEW_RELEASE)
    session = factories.SourceSessionFactory(gfid__entity=client_entity, environment=Environment.NEW_RELEASE)
    _walk_to_review(web, system, [session], name="Alpha", environment="NEW_RELEASE")
    body = _post(web, "review", go="submit").content.decode()
    assert 'data-step="details"' in body and "already has an open group named" in body
    assert DropCopyGroup.objects.count() == 1


def test_filters_bad_value(web, client_entity, system):
    _post(web, "fee")
    _post(web, "details", name="A", venue="CME", environment="PRODUCTION", front_end_system=system.pk)
    response = _post(web, "filters", message_filters=["everything"])
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()


def test_sessions_step_reports_each_bad_sender_comp_id(web, client_entity, system):
    other = factories.SourceSessionFactory()  # another entity's
    new_release = factories.SourceSessionFactory(gfid__entity=client_entity, environment=Environment.NEW_RELEASE)
    _post(web, "fee")
    _post(web, "details", name="A", venue="CME", environment="PRODUCTION", front_end_system=system.pk)
    _post(web, "filters")
    response = _post(web, "sessions", sender_comp_ids=f"{other.sender_comp_id}, {new_release.sender_comp_id}\nZZZ")
    body = response.content.decode()
    assert response.status_code == 400
    assert f"{other.sender_comp_id}: no session with this SenderCompID that your entity may use." in body
    assert f"{new_release.sender_comp_id} is a CME session in New Release; the group is CME in Production." in body
    assert "ZZZ: no session" in body
    empty = _post(web, "sessions").content.decode()
    assert "Choose at least one session" in empty


def test_sessions_step_never_offers_another_entitys_sessions(web, client_entity, system):
    mine = factories.SourceSessionFactory(gfid__entity=client_entity)
    other = factories.SourceSessionFactory()
    _post(web, "fee")
    _post(web, "details", name="A", venue="CME", environment="PRODUCTION", front_end_system=system.pk)
    _post(web, "filters")
    body = _post(web, "sessions", go="search", q=other.sender_comp_id).content.decode()
    assert 'data-testid="search-results"' not in body
    body = _post(web, "sessions", go="search", q=mine.sender_comp_id).content.decode()
    assert 'data-testid="search-results"' in body and mine.sender_comp_id in body
    response = _post(web, "sessions", sessions=[other.pk])
    assert response.status_code == 400


def test_back_keeps_what_was_entered(web, client_entity, system):
    _post(web, "fee")
    _post(web, "details", name="Kept name", venue="CME", environment="PRODUCTION", front_end_system=system.pk)
    body = _post(web, "filters", go="back").content.decode()
    assert 'data-step="details"' in body and 'value="Kept name"' in body


def test_htmx_step_is_a_partial(web, client_entity):
    response = web.post(URL, {"step": "fee", "go": "next"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and 'data-step="details"' in body and "<html" not in body
    response = web.post(URL, {"step": "details", "name": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "errorlist" in response.content.decode()


def test_garbage_posts_are_never_500(web, client_entity, system):
    for data in ({}, {"step": "nope"}, {"step": "review", "go": "submit", "confirmed_monthly_fee": "abc"}):
        assert web.post(URL, data).status_code < 500
    _walk_to_review(web, system, [factories.SourceSessionFactory(gfid__entity=client_entity)])
    response = _post(web, "review", go="submit", confirmed_monthly_fee="NaN-ish")
    assert response.status_code == 409
    assert not DropCopyGroup.objects.exists()
