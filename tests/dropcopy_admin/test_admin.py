"""The Django admin: every page renders, lists cost a constant number of queries, every write goes
through a service (or an audited save) and leaves an audit row, nothing is deleted, and only staff
get in."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dropcopy_admin.choices import Environment, GatewayType, GroupStatus, MembershipStatus, Role, TargetStatus
from dropcopy_admin.models import (
    ApiToken,
    AuditEvent,
    CgwGateway,
    ClearingFirm,
    DropCopyGroup,
    Entity,
    FrontEndSystem,
    Gfid,
    Membership,
    PortRange,
    SegmentGateway,
    SourceSession,
    TargetAddress,
    TargetSession,
    User,
    Venue,
)
from dropcopy_admin.models.audit import audit_object_type
from dropcopy_admin.services import users
from tests import factories

pytestmark = pytest.mark.django_db

REQUEST_ID = "admin-test-request-1"
GROUP = audit_object_type(DropCopyGroup)


@pytest.fixture
def am_client(client, account_manager):
    client.force_login(account_manager)
    return client


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _target(group, *, n: int = 1) -> TargetSession:
    target = TargetSession.objects.create(
        group=group,
        entity=group.entity,
        venue=group.venue,
        environment=group.environment,
        gateway_type=GatewayType.CGW,
        cgw_gateway=factories.cgw_gateway(),
        target_comp_id=f"T{n:05d}N",
        port=30000 + n,
        status=TargetStatus.PROVISIONED,
        capacity=1000,
        used=1,
        created_at=timezone.now(),
    )
    TargetAddress.objects.create(target=target, ip="127.10.1.1", port=target.port, role="primary", target_sub_id="G")
    return target


@pytest.fixture
def world(account_manager):
    """One object of every model, a token and some audit rows."""
    membership = factories.MembershipFactory()
    target = _target(membership.group)
    token = users.api_token_create(username="am", password="s3cret-Pa55word")
    users.user_create(
        actor=account_manager,
        username="someone",
        password="An0ther-Pa55word",
        role=Role.FINANCE,
    )
    return {
        Venue: Venue.objects.get(pk="CME"),
        CgwGateway: CgwGateway.objects.first(),
        SegmentGateway: SegmentGateway.objects.first(),
        PortRange: PortRange.objects.first(),
        ClearingFirm: membership.source_session.clearing_firm,
        Entity: membership.group.entity,
        Gfid: membership.source_session.gfid,
        User: account_manager,
        ApiToken: ApiToken.objects.get(),
        SourceSession: membership.source_session,
        FrontEndSystem: membership.group.front_end_system,
        DropCopyGroup: membership.group,
        Membership: membership,
        TargetSession: target,
        TargetAddress: target.addresses.get(),
        AuditEvent: AuditEvent.objects.first(),
        "token": token,
    }


ADDABLE = {
    CgwGateway,
    SegmentGateway,
    PortRange,
    ClearingFirm,
    Entity,
    Gfid,
    User,
    SourceSession,
    FrontEndSystem,
    DropCopyGroup,
    Membership,
}
READ_ONLY = {Venue, ApiToken, AuditEvent, TargetSession, TargetAddress}


@pytest.mark.parametrize("model", sorted(ADDABLE | READ_ONLY, key=lambda m: m.__name__), ids=lambda m: m.__name__)
def test_every_model_has_a_changelist_an_add_page_if_addable_and_a_change_page(am_client, world, model):
    assert am_client.get(_url(model, "changelist")).status_code == 200
    assert am_client.get(_url(model, "changelist"), {"q": "x1"}).status_code == 200
    assert am_client.get(_url(model, "add")).status_code == (200 if model in ADDABLE else 403)
    assert am_client.get(_url(model, "change", world[model].pk)).status_code == 200


def test_no_page_shows_a_password_hash_or_a_token_digest(am_client, world, account_manager):
    token = ApiToken.objects.get()
    pages = [
        _url(User, "change", account_manager.pk),
        _url(User, "changelist"),
        _url(ApiToken, "change", token.pk),
        _url(ApiToken, "changelist"),
    ]
    for page in pages:
        body = am_client.get(page).content.decode()
        assert account_manager.password not in body
        assert account_manager.password.split("$")[-1] not in body
        assert token.digest not in body
        assert world["token"] not in body


# --- lists cost a constant number of queries ---------------------------------------------------


def _groups(n: int) -> None:
    for _ in range(n):
        membership = factories.MembershipFactory()
        factories.MembershipFactory(group=membership.group, status=MembershipStatus.PENDING)
        _target(membership.group, n=membership.pk)


@pytest.mark.parametrize(
    "model",
    [DropCopyGroup, Membership, SourceSession, Entity, Gfid, User, TargetSession, ClearingFirm, FrontEndSystem],
    ids=lambda m: m.__name__,
)
def test_a_list_costs_the_same_queries_for_one_row_and_for_many(am_client, model):
    url = _url(model, "changelist")
    _groups(1)
    am_client.get(url)  # warm the session and content types
    with CaptureQueriesContext(connection) as one:
        assert am_client.get(url).status_code == 200
    _groups(6)
    with CaptureQueriesContext(connection) as many:
        response = am_client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count > 1
    assert len(many) == len(one), "\n".join(q["sql"][:300] for q in many.captured_queries)


def test_the_group_list_counts_live_and_pending_sessions(am_client):
    group = factories.GroupFactory(name="Counted")
    factories.MembershipFactory(group=group, status=MembershipStatus.PENDING)
    factories.MembershipFactory(group=group, status=MembershipStatus.PENDING)
    factories.MembershipFactory(group=group, status=MembershipStatus.WITHDRAWN)
    response = am_client.get(_url(DropCopyGroup, "changelist"))
    row = response.context["cl"].result_list[0]
    assert (row.live_session_count, row.pending_request_count) == (0, 2)


# --- writes go through the services and are audited --------------------------------------------


def test_creating_an_entity_goes_through_the_service_and_is_audited(am_client, account_manager):
    response = am_client.post(
        _url(Entity, "add"),
        {"code": "NEWCO", "name": "New Co", "self_service": "on", "bill_to": "", "clearing_firm": ""},
        HTTP_X_REQUEST_ID=REQUEST_ID,
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    entity = Entity.objects.get(code="NEWCO")
    event = AuditEvent.objects.get(object_type="entity", object_id=entity.pk)
    assert (event.actor, event.actor_user, event.action, event.request_id) == (
        "am",
        account_manager,
        "create",
        REQUEST_ID,
    )
    assert event.before is None
    assert event.after["code"] == "NEWCO" and event.after["self_service"] is True


def test_editing_an_entity_records_before_and_after(am_client):
    entity = factories.EntityFactory(code="OLD", name="Old name", self_service=False)
    response = am_client.post(
        _url(Entity, "change", entity.pk),
        {"code": "OLD", "name": "New name", "bill_to": "", "clearing_firm": ""},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(object_type="entity", object_id=entity.pk)
    assert event.action == "update"
    assert (event.before["name"], event.after["name"]) == ("Old name", "New name")


def test_a_domain_refusal_is_a_form_error_not_a_500(am_client):
    factories.EntityFactory(code="TAKEN")
    response = am_client.post(_url(ClearingFirm, "add"), {"code": "A1", "name": "Too short"})
    assert response.status_code == 200
    assert "A clearing firm code is 3 uppercase letters or digits." in response.content.decode()
    assert not ClearingFirm.objects.exists()
    assert not AuditEvent.objects.filter(object_type="clearingfirm").exists()


def test_a_gfid_without_the_clearing_firm_cme_requires_is_refused_on_the_form(am_client):
    entity = factories.EntityFactory()
    response = am_client.post(
        _url(Gfid, "add"),
        {"code": "abc", "venue": "CME", "entity": entity.pk, "clearing_firm": ""},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "clearing_firm": ["A CME GFID needs a guaranteeing clearing firm."]
    }


def test_a_source_session_takes_its_gfids_clearing_firm_when_none_is_given(am_client):
    gfid = factories.GfidFactory(code="QQQ")
    response = am_client.post(
        _url(SourceSession, "add"),
        {
            "sender_comp_id": "abcqqqn",
            "venue": "CME",
            "environment": Environment.PRODUCTION,
            "gateway_type": GatewayType.CGW,
            "cgw_gateway": factories.cgw_gateway(code="CGW2").pk,
            "gfid": gfid.pk,
            "clearing_firm": "",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    session = SourceSession.objects.get(sender_comp_id="ABCQQQN")
    assert session.clearing_firm == gfid.clearing_firm
    assert AuditEvent.objects.filter(object_type="sourcesession", object_id=session.pk, action="create").exists()


def _group_form(entity, system, **overrides) -> dict:
    data = {
        "entity": entity.pk,
        "name": "Desk A",
        "venue": "CME",
        "environment": Environment.PRODUCTION,
        "front_end_system": system.pk,
        "message_filters": ["acks"],
        "opened_at_0": "",
        "opened_at_1": "",
        "confirmed_monthly_fee": "0.00",
    }
    return {**data, **overrides}


def test_creating_a_group_goes_through_the_service_and_is_audited(am_client):
    entity = factories.EntityFactory()
    system = factories.FrontEndSystemFactory(entity=entity)
    factories.passed_certification(system)
    response = am_client.post(_url(DropCopyGroup, "add"), _group_form(entity, system), HTTP_X_REQUEST_ID=REQUEST_ID)
    assert response.status_code == 302, response.context["adminform"].form.errors
    group = DropCopyGroup.objects.get(name="Desk A")
    assert group.message_filters == ["acks", "fills", "trade_busts"]
    assert group.status == GroupStatus.ACTIVE
    event = AuditEvent.objects.get(object_type=GROUP, object_id=group.pk)
    assert (event.actor, event.action, event.request_id) == ("am", "create", REQUEST_ID)


def test_a_taken_open_group_name_is_a_form_error(am_client):
    group = factories.GroupFactory(name="Desk A")
    form = _group_form(group.entity, group.front_end_system, confirmed_monthly_fee="500.00")
    response = am_client.post(_url(DropCopyGroup, "add"), form)
    assert response.status_code == 200
    assert "already has an open group named" in response.content.decode()
    assert DropCopyGroup.objects.count() == 1


def test_editing_a_group_goes_through_the_service(am_client):
    group = factories.GroupFactory(name="Before")
    response = am_client.post(
        _url(DropCopyGroup, "change", group.pk),
        {
            "name": "After",
            "front_end_system": group.front_end_system.pk,
            "message_filters": ["fills", "trade_busts"],
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    event = AuditEvent.objects.get(object_type=GROUP, object_id=group.pk)
    assert (event.action, event.before["name"], event.after["name"]) == ("update", "Before", "After")


def test_the_group_page_shows_its_memberships_read_only(am_client):
    membership = factories.MembershipFactory()
    response = am_client.get(_url(DropCopyGroup, "change", membership.group.pk))
    body = response.content.decode()
    assert membership.source_session.sender_comp_id in body
    inline = response.context["inline_admin_formsets"][0]
    assert not inline.has_add_permission and not inline.has_change_permission and not inline.has_delete_permission


def test_closing_groups_by_the_admin_action_asks_first_then_closes_through_the_service(am_client):
    membership = factories.MembershipFactory(status=MembershipStatus.PENDING)
    group = membership.group
    selection = {"action": "close_groups", "_selected_action": [group.pk]}
    confirmation = am_client.post(_url(DropCopyGroup, "changelist"), {**selection, "index": "0"})
    assert confirmation.status_code == 200
    assert "Yes, close them" in confirmation.content.decode()
    group.refresh_from_db()
    assert group.status == GroupStatus.ACTIVE

    response = am_client.post(
        _url(DropCopyGroup, "changelist"),
        {**selection, "confirm": "yes", "at_0": "", "at_1": ""},
        HTTP_X_REQUEST_ID=REQUEST_ID,
    )
    assert response.status_code == 302
    group.refresh_from_db()
    membership.refresh_from_db()
    assert group.status == GroupStatus.CLOSED
    assert membership.status == MembershipStatus.WITHDRAWN
    event = AuditEvent.objects.get(object_type=GROUP, object_id=group.pk)
    assert (event.actor, event.action, event.request_id) == ("am", "close", REQUEST_ID)


def test_closing_an_already_closed_group_is_reported_not_a_500(am_client):
    group = factories.GroupFactory()
    group.status, group.closed_at = GroupStatus.CLOSED, group.opened_at
    group.save()
    response = am_client.post(
        _url(DropCopyGroup, "changelist"),
        {"action": "close_groups", "_selected_action": [group.pk], "confirm": "yes", "at_0": "", "at_1": ""},
        follow=True,
    )
    assert response.status_code == 200
    assert "already closed" in response.content.decode()


def test_a_future_closing_time_is_refused_on_the_confirmation_page(am_client):
    group = factories.GroupFactory()
    response = am_client.post(
        _url(DropCopyGroup, "changelist"),
        {
            "action": "close_groups",
            "_selected_action": [group.pk],
            "confirm": "yes",
            "at_0": "2999-01-01",
            "at_1": "00:00:00",
        },
        follow=True,
    )
    assert "This time is in the future." in response.content.decode()
    group.refresh_from_db()
    assert group.status == GroupStatus.ACTIVE


def test_groups_cannot_be_deleted_and_a_closed_group_cannot_be_edited(am_client):
    group = factories.GroupFactory()
    assert am_client.get(_url(DropCopyGroup, "delete", group.pk)).status_code == 403
    changelist = am_client.get(_url(DropCopyGroup, "changelist"))
    actions = dict(changelist.context["action_form"].fields["action"].choices)
    assert "delete_selected" not in actions and "close_groups" in actions
    group.status, group.closed_at = GroupStatus.CLOSED, timezone.now()
    group.save()
    response = am_client.post(_url(DropCopyGroup, "change", group.pk), {"name": "Renamed"})
    assert response.status_code == 403


@pytest.mark.parametrize("model", [Entity, Gfid, SourceSession, Membership, User, AuditEvent], ids=lambda m: m.__name__)
def test_domain_objects_have_no_delete_page(am_client, world, model):
    assert am_client.get(_url(model, "delete", world[model].pk)).status_code == 403


def test_requesting_and_ending_a_membership_through_the_admin(am_client, account_manager):
    group = factories.GroupFactory()
    session = factories.SourceSessionFactory(gfid__entity=group.entity)
    response = am_client.post(_url(Membership, "add"), {"group": group.pk, "source_session": session.pk})
    assert response.status_code == 302, response.context["adminform"].form.errors
    membership = Membership.objects.get()
    assert (membership.status, membership.requested_by) == (MembershipStatus.PENDING, account_manager)

    duplicate = am_client.post(_url(Membership, "add"), {"group": group.pk, "source_session": session.pk})
    assert duplicate.status_code == 200
    assert "already has a pending or approved membership in this group." in duplicate.content.decode()

    response = am_client.post(
        _url(Membership, "changelist"),
        {"action": "end_memberships", "_selected_action": [membership.pk], "confirm": "yes"},
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.WITHDRAWN
    actions = list(
        AuditEvent.objects.filter(object_type="membership", object_id=membership.pk).values_list("action", flat=True)
    )
    assert sorted(actions) == ["request", "withdraw"]


def test_editing_reference_data_is_audited(am_client):
    gateway = factories.cgw_gateway()
    response = am_client.post(
        _url(CgwGateway, "change", gateway.pk), {"primary_ip": "127.10.1.1", "backup_ip": "127.10.9.9"}
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(object_type="cgwgateway", object_id=gateway.pk)
    assert (event.action, event.before["backup_ip"], event.after["backup_ip"]) == ("update", "127.10.1.2", "127.10.9.9")


# --- users --------------------------------------------------------------------------------------


def test_creating_a_user_goes_through_the_service_with_its_role_rules(am_client, clearing_firm):
    missing_firm = am_client.post(
        _url(User, "add"),
        {"username": "cf", "role": Role.CLEARING_FIRM, "password1": "Str0ng-Pa55word", "password2": "Str0ng-Pa55word"},
    )
    assert missing_firm.status_code == 200
    assert "clearing_firm" in missing_firm.context["adminform"].form.errors

    weak = am_client.post(
        _url(User, "add"),
        {
            "username": "cf",
            "role": Role.CLEARING_FIRM,
            "clearing_firm": clearing_firm.pk,
            "password1": "1",
            "password2": "1",
        },
    )
    assert "password2" in weak.context["adminform"].form.errors

    response = am_client.post(
        _url(User, "add"),
        {
            "username": "cf",
            "email": "cf@example.com",
            "role": Role.CLEARING_FIRM,
            "clearing_firm": clearing_firm.pk,
            "password1": "Str0ng-Pa55word",
            "password2": "Str0ng-Pa55word",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(username="cf")
    assert (user.role, user.clearing_firm, user.is_staff, user.is_superuser) == (
        Role.CLEARING_FIRM,
        clearing_firm,
        False,
        False,
    )
    assert user.check_password("Str0ng-Pa55word")
    event = AuditEvent.objects.get(object_type="user", object_id=user.pk)
    assert event.action == "create" and "password" not in event.after


def test_changing_a_users_role_keeps_superuser_and_staff_in_step_and_is_audited(am_client, finance_user):
    response = am_client.post(
        _url(User, "change", finance_user.pk),
        {"username": finance_user.username, "role": Role.ACCOUNT_MANAGER, "is_active": "on"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    finance_user.refresh_from_db()
    assert finance_user.is_superuser and finance_user.is_staff
    assert not finance_user.groups.filter(name=users.FINANCE_GROUP).exists()
    event = AuditEvent.objects.get(object_type="user", object_id=finance_user.pk)
    assert (event.before["role"], event.after["role"], event.after["is_superuser"]) == (
        "finance",
        "account_manager",
        True,
    )


def test_a_client_role_without_an_entity_is_refused_on_the_change_form(am_client, finance_user):
    response = am_client.post(
        _url(User, "change", finance_user.pk),
        {"username": finance_user.username, "role": Role.CLIENT, "is_active": "on"},
    )
    assert response.status_code == 200
    assert "entity" in response.context["adminform"].form.errors


def test_setting_a_password_in_the_admin_is_audited_without_the_hash(am_client, client_user):
    response = am_client.post(
        reverse("admin:auth_user_password_change", args=[client_user.pk]),
        {"password1": "N3w-Pa55word!", "password2": "N3w-Pa55word!", "usable_password": "true"},
    )
    assert response.status_code == 302
    client_user.refresh_from_db()
    assert client_user.check_password("N3w-Pa55word!")
    event = AuditEvent.objects.get(object_type="user", object_id=client_user.pk)
    assert event.action == "set_password" and "password" not in event.after


@pytest.mark.parametrize("fixture", ["client_user", "clearing_user"])
def test_non_staff_users_cannot_reach_the_admin(client, request, fixture):
    client.force_login(request.getfixturevalue(fixture))
    for url in [reverse("admin:index"), _url(DropCopyGroup, "changelist"), _url(Entity, "add")]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_finance_staff_see_none_of_the_core_admin(client, finance_user):
    client.force_login(finance_user)
    assert client.get(_url(DropCopyGroup, "changelist")).status_code == 403
    assert client.get(_url(User, "changelist")).status_code == 403


def test_a_closing_time_inside_a_closed_billing_month_is_refused(am_client, account_manager):
    """R4: a back-dated close never alters a line of a closed billing month."""
    import datetime as dt

    from billing.services import billing_run_close, billing_run_compute

    group = factories.GroupFactory(opened_at=dt.datetime(2025, 1, 10, tzinfo=dt.UTC))
    billing_run_compute(actor=account_manager, month=dt.date(2025, 2, 1))
    billing_run_close(actor=account_manager, month=dt.date(2025, 2, 1))

    response = am_client.post(
        _url(DropCopyGroup, "changelist"),
        {
            "action": "close_groups",
            "_selected_action": [group.pk],
            "confirm": "yes",
            "at_0": "2025-02-10",
            "at_1": "12:00:00",
        },
        follow=True,
    )

    assert "whose billing run is closed" in response.content.decode()
    group.refresh_from_db()
    assert group.status == GroupStatus.ACTIVE
