"""The admin of targets and membership decisions: targets are listed with their load, gateway and
provisioning error at a constant query cost and re-provisioned by an action that queues the
provisioning task on commit (R17); account managers approve, reject and revoke requests on a
firm's behalf with a reason, one service call per selection, each refusal reported (R8)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dropcopy_admin.choices import Environment, GatewayType, MembershipStatus, TargetStatus
from dropcopy_admin.models import AuditEvent, DropCopyGroup, Membership, TargetSession
from dropcopy_admin.models.audit import audit_object_type
from entitlements.services.memberships import memberships_request
from tests import factories

pytestmark = pytest.mark.django_db

REQUEST_ID = "admin-targets-test-1"
TARGET = audit_object_type(TargetSession)
MEMBERSHIP = audit_object_type(Membership)


@pytest.fixture
def am_client(client, account_manager):
    client.force_login(account_manager)
    return client


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _approved_target(actor, *, group=None, gateway_type=GatewayType.CGW) -> TargetSession:
    """A target opened by an auto-approved request (the entity holds admin control of the GFID)."""
    group = group or factories.GroupFactory()
    session = factories.SourceSessionFactory(
        gfid__entity=group.entity, gfid__admin_control=True, gateway_type=gateway_type
    )
    (outcome,) = memberships_request(actor=actor, group=group, sessions=[session])
    assert outcome.error is None, outcome.error
    return outcome.membership.target


def _pending(requester, group, *, n: int = 1, **session_fields) -> list[Membership]:
    """Pending requests of ``requester`` for sessions of ``group``'s entity guaranteed by a clearing firm."""
    sessions = [factories.SourceSessionFactory(gfid__entity=group.entity, **session_fields) for _ in range(n)]
    outcomes = memberships_request(actor=requester, group=group, sessions=sessions)
    assert all(o.membership.status == MembershipStatus.PENDING for o in outcomes), [o.error for o in outcomes]
    return [o.membership for o in outcomes]


@pytest.fixture
def client_group(client_entity):
    return factories.GroupFactory(entity=client_entity)


# --- the target list ----------------------------------------------------------------------------


def test_the_target_list_shows_group_gateway_load_and_provisioning_error(am_client, account_manager):
    target = _approved_target(account_manager)
    TargetSession.objects.filter(pk=target.pk).update(
        status=TargetStatus.FAILED, provisioning_error_code="gateway_unreachable", provisioning_error_detail="timeout"
    )
    response = am_client.get(_url(TargetSession, "changelist"))
    assert response.status_code == 200
    body = response.content.decode()
    assert target.target_comp_id in body
    assert target.group.name in body and target.entity.code in body
    assert str(target.cgw_gateway) in body and str(target.port) in body
    assert "1 / 1000" in body
    assert "timeout" in body and "gateway_unreachable" not in body


@pytest.mark.parametrize("model", [TargetSession, Membership], ids=lambda m: m.__name__)
def test_a_list_costs_the_same_queries_for_one_target_and_for_many(am_client, account_manager, model):
    url = _url(model, "changelist")
    _approved_target(account_manager)
    am_client.get(url)  # warm the session and content types
    with CaptureQueriesContext(connection) as one:
        assert am_client.get(url).status_code == 200
    for _ in range(5):
        _approved_target(account_manager)
    _approved_target(account_manager, gateway_type=GatewayType.MSGW)
    with CaptureQueriesContext(connection) as many:
        response = am_client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 7
    assert len(many) == len(one), "\n".join(q["sql"][:300] for q in many.captured_queries)


def test_targets_are_filtered_by_status_gateway_type_environment_and_venue_and_searched(am_client, account_manager):
    cgw = _approved_target(account_manager, group=factories.GroupFactory(name="Alpha desk"))
    msgw = _approved_target(account_manager, gateway_type=GatewayType.MSGW)
    TargetSession.objects.filter(pk=msgw.pk).update(status=TargetStatus.FAILED)
    url = _url(TargetSession, "changelist")

    def listed(params) -> set[int]:
        response = am_client.get(url, params)
        assert response.status_code == 200
        return {target.pk for target in response.context["cl"].result_list}

    assert listed({"status__exact": TargetStatus.FAILED}) == {msgw.pk}
    assert listed({"gateway_type__exact": GatewayType.CGW}) == {cgw.pk}
    assert listed({"environment__exact": Environment.PRODUCTION}) == {cgw.pk, msgw.pk}
    assert listed({"environment__exact": Environment.NEW_RELEASE}) == set()
    assert listed({"venue__code__exact": "CME"}) == {cgw.pk, msgw.pk}
    assert listed({"q": "alpha"}) == {cgw.pk}
    assert listed({"q": msgw.entity.code}) == {msgw.pk}
    assert listed({"q": msgw.target_comp_id}) == {msgw.pk}


def test_the_target_page_lists_its_addresses_read_only(am_client, account_manager):
    target = _approved_target(account_manager, gateway_type=GatewayType.MSGW)
    response = am_client.get(_url(TargetSession, "change", target.pk))
    assert response.status_code == 200
    inline = response.context["inline_admin_formsets"][0]
    assert not inline.has_add_permission and not inline.has_change_permission and not inline.has_delete_permission
    assert len(inline.formset.forms) == target.addresses.count() == 38
    body = response.content.decode()
    address = target.addresses.order_by("pk").first()
    assert address.ip in body and f">{address.target_sub_id}<" in body


# --- re-provisioning (R17) ---------------------------------------------------------------------


def test_reprovisioning_queues_the_task_on_commit_and_provisions_pending_and_failed_targets(
    am_client, account_manager, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("dropcopy_admin.tasks.verify_targets.delay", lambda _ids: None)  # no gateway here (R16)
    pending = _approved_target(account_manager)
    failed = _approved_target(account_manager)
    TargetSession.objects.filter(pk=failed.pk).update(
        status=TargetStatus.FAILED, provisioning_error_code="provisioning_failed", provisioning_error_detail="boom"
    )
    selection = {"action": "reprovision_targets", "_selected_action": [pending.pk, failed.pk]}

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = am_client.post(_url(TargetSession, "changelist"), selection)
    assert response.status_code == 302
    assert len(queued) == 2
    pending.refresh_from_db()
    assert pending.status == TargetStatus.PENDING, "nothing runs before the commit"

    with django_capture_on_commit_callbacks(execute=True):
        response = am_client.post(_url(TargetSession, "changelist"), selection, follow=True)
    assert f"Provisioning queued for 2 target(s): {pending.target_comp_id}, {failed.target_comp_id}." in _messages(
        response
    )
    for target in (pending, failed):
        target.refresh_from_db()
        assert target.status == TargetStatus.PROVISIONED
        assert (target.provisioning_error_code, target.provisioning_error_detail) == ("", "")
        event = AuditEvent.objects.get(object_type=TARGET, object_id=target.pk, action="provision")
        assert event.actor == "system:provision_target"


def test_reprovisioning_leaves_closed_targets_alone_and_says_so(
    am_client, account_manager, django_capture_on_commit_callbacks
):
    closed = _approved_target(account_manager)
    TargetSession.objects.filter(pk=closed.pk).update(status=TargetStatus.CLOSED)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = am_client.post(
            _url(TargetSession, "changelist"),
            {"action": "reprovision_targets", "_selected_action": [closed.pk]},
            follow=True,
        )
    assert queued == []
    assert _messages(response) == [f"Closed targets are not provisioned: {closed.target_comp_id}."]
    closed.refresh_from_db()
    assert closed.status == TargetStatus.CLOSED


def test_reprovisioning_an_already_provisioned_target_changes_nothing(
    am_client, account_manager, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("dropcopy_admin.tasks.verify_targets.delay", lambda _ids: None)  # no gateway here (R16)
    target = _approved_target(account_manager)
    TargetSession.objects.filter(pk=target.pk).update(status=TargetStatus.VERIFIED)
    with django_capture_on_commit_callbacks(execute=True):
        am_client.post(
            _url(TargetSession, "changelist"), {"action": "reprovision_targets", "_selected_action": [target.pk]}
        )
    target.refresh_from_db()
    assert target.status == TargetStatus.VERIFIED
    assert not AuditEvent.objects.filter(object_type=TARGET, object_id=target.pk, action="provision").exists()


# --- the membership list ------------------------------------------------------------------------


def test_memberships_are_filtered_by_status_clearing_firm_venue_and_environment(
    am_client, account_manager, client_user, client_group
):
    first_firm, second_firm = factories.ClearingFirmFactory(), factories.ClearingFirmFactory()
    (of_first,) = _pending(client_user, client_group, gfid__clearing_firm=first_firm)
    (of_second,) = _pending(client_user, client_group, gfid__clearing_firm=second_firm)
    auto = _approved_target(account_manager, group=client_group).memberships.get()
    url = _url(Membership, "changelist")

    def listed(params) -> set[int]:
        response = am_client.get(url, params)
        assert response.status_code == 200
        return {membership.pk for membership in response.context["cl"].result_list}

    assert listed({"status__exact": MembershipStatus.PENDING}) == {of_first.pk, of_second.pk}
    assert listed({"status__exact": MembershipStatus.APPROVED}) == {auto.pk}
    assert listed({"source_session__clearing_firm__id__exact": first_firm.pk}) == {of_first.pk}
    assert listed({"source_session__clearing_firm__id__exact": second_firm.pk}) == {of_second.pk}
    assert listed({"group__venue__code__exact": "CME"}) == {of_first.pk, of_second.pk, auto.pk}
    assert listed({"group__environment__exact": Environment.NEW_RELEASE}) == set()
    assert listed({"auto_approved__exact": "1"}) == {auto.pk}
    body = am_client.get(url).content.decode()
    assert first_firm.code in body and auto.target.target_comp_id in body


def test_the_group_page_shows_each_memberships_target(am_client, account_manager):
    target = _approved_target(account_manager)
    response = am_client.get(_url(DropCopyGroup, "change", target.group.pk))
    assert response.status_code == 200
    assert target.target_comp_id in response.content.decode()


# --- decisions on a firm's behalf (R8) ----------------------------------------------------------


def _decide(am_client, action: str, memberships, reason: str | None, **extra):
    data = {"action": action, "_selected_action": [m.pk for m in memberships]}
    if reason is not None:
        data |= {"confirm": "yes", "reason": reason}
    return am_client.post(_url(Membership, "changelist"), data, **extra)


def test_approving_asks_for_a_reason_first_then_approves_with_a_target(
    am_client, account_manager, client_user, client_group
):
    memberships = _pending(client_user, client_group, n=2)

    confirmation = _decide(am_client, "approve_memberships", memberships, None)
    assert confirmation.status_code == 200
    assert "Yes, approve them" in confirmation.content.decode()
    assert "reason" in confirmation.context["form"].fields

    without_reason = _decide(am_client, "approve_memberships", memberships, "  ")
    assert without_reason.status_code == 200
    assert without_reason.context["form"].errors == {"reason": ["This field is required."]}
    assert Membership.objects.filter(status=MembershipStatus.PENDING).count() == 2

    response = _decide(
        am_client,
        "approve_memberships",
        memberships,
        "Firm confirmed by phone",
        follow=True,
        HTTP_X_REQUEST_ID=REQUEST_ID,
    )
    assert _messages(response) == ["Approved: 2."]
    for membership in memberships:
        membership.refresh_from_db()
        assert membership.status == MembershipStatus.APPROVED
        assert (membership.decided_by, membership.reason) == (account_manager, "Firm confirmed by phone")
        assert membership.target is not None and not membership.auto_approved
        event = AuditEvent.objects.get(object_type=MEMBERSHIP, object_id=membership.pk, action="approve")
        assert (event.actor, event.request_id, event.after["reason"]) == ("am", REQUEST_ID, "Firm confirmed by phone")
    assert memberships[0].target == memberships[1].target
    assert memberships[0].target.used == 2


def test_rejecting_with_a_reason(am_client, account_manager, client_user, client_group):
    (membership,) = _pending(client_user, client_group)
    response = _decide(am_client, "reject_memberships", [membership], "Not a customer of the firm", follow=True)
    assert _messages(response) == ["Rejected: 1."]
    membership.refresh_from_db()
    assert (membership.status, membership.reason, membership.decided_by) == (
        MembershipStatus.REJECTED,
        "Not a customer of the firm",
        account_manager,
    )
    assert membership.target is None


def test_revoking_an_approval_frees_its_target_slot(am_client, client_user, client_group):
    target = _approved_target(client_user, group=client_group)
    membership = target.memberships.get()
    response = _decide(am_client, "revoke_memberships", [membership], "Firm withdrew its guarantee", follow=True)
    assert _messages(response) == ["Revoked: 1."]
    membership.refresh_from_db()
    target.refresh_from_db()
    assert (membership.status, membership.target, membership.reason) == (
        MembershipStatus.REVOKED,
        None,
        "Firm withdrew its guarantee",
    )
    assert membership.ended_at is not None
    assert target.used == 0 and target.status != TargetStatus.CLOSED


def test_each_refusal_is_reported_and_the_rest_of_the_selection_is_decided(
    am_client, account_manager, client_user, client_group
):
    (decidable,) = _pending(client_user, client_group)
    (own_request,) = _pending(account_manager, client_group)
    already_approved = _approved_target(client_user, group=client_group).memberships.get()

    response = _decide(
        am_client,
        "approve_memberships",
        [decidable, own_request, already_approved],
        "On the firm's behalf",
        follow=True,
    )
    shown = _messages(response)
    assert any(
        own_request.source_session.sender_comp_id in m and "The user who made a request cannot decide it." in m
        for m in shown
    ), shown
    assert any(
        already_approved.source_session.sender_comp_id in m and "it cannot become approved." in m for m in shown
    ), shown
    assert "Approved: 1." in shown
    decidable.refresh_from_db()
    own_request.refresh_from_db()
    assert (decidable.status, own_request.status) == (MembershipStatus.APPROVED, MembershipStatus.PENDING)


def test_a_full_msgw_target_is_reported_as_capacity_exceeded(
    am_client, settings, client_user, client_group, django_capture_on_commit_callbacks
):
    settings.DROPCOPY = {**settings.DROPCOPY, "MSGW_TARGET_CAPACITY": 1}
    first, second = _pending(client_user, client_group, n=2, gateway_type=GatewayType.MSGW)
    response = _decide(am_client, "approve_memberships", [first, second], "Capacity check", follow=True)
    shown = _messages(response)
    assert "Approved: 1." in shown
    assert any(second.source_session.sender_comp_id in m and "target is full" in m for m in shown), shown
    second.refresh_from_db()
    assert second.status == MembershipStatus.PENDING


def test_a_reason_longer_than_500_characters_is_refused_on_the_confirmation_page(am_client, client_user, client_group):
    (membership,) = _pending(client_user, client_group)
    response = _decide(am_client, "reject_memberships", [membership], "x" * 501)
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["reason"]
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.PENDING


def test_decision_actions_are_offered_to_account_managers(am_client):
    factories.MembershipFactory()
    actions = dict(am_client.get(_url(Membership, "changelist")).context["action_form"].fields["action"].choices)
    assert {"approve_memberships", "reject_memberships", "revoke_memberships"} <= set(actions)
    targets = dict(am_client.get(_url(TargetSession, "changelist")).context["action_form"].fields["action"].choices)
    assert "reprovision_targets" in targets
