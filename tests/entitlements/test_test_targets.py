"""New Release test targets (R10): requested over test-targets/, ready 48 hours after the request
(or at the requested start, if later), verified once ready and not before (R16), expiring 7 × 24 h
after they are ready — closed by the scheduled task with keys revoked and port freed — renewed by
account managers before then; the entity's administrators e-mailed two days before and at expiry,
once each. Time is moved with the product's clock, never slept."""

import datetime as dt

import pytest
from django.core import mail

from dropcopy_admin import clock, tasks
from dropcopy_admin.choices import Environment, GatewayType, Role, TargetStatus, TemporaryKind
from dropcopy_admin.models import (
    AuditEvent,
    CheckOutcome,
    ConnectivityCheck,
    KeyPair,
    PortRange,
    TargetAddress,
    TargetSession,
)
from dropcopy_admin.models.audit import audit_object_type
from dropcopy_admin.services.keys import key_pair_create
from dropcopy_admin.services.targets import target_provision
from dropcopy_admin.tasks import PROVISIONING
from entitlements import tasks as entitlements_tasks
from entitlements.services.temporary_targets import (
    certification_request,
    new_release_target_renew,
    new_release_target_request,
    new_release_targets_warn_expiring,
    temporary_target_rescind,
    temporary_targets_expire,
)
from tests import factories
from tests.support import assert_error

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
WEEK = dt.timedelta(hours=168)
TEST_TARGETS = "/api/v1/test-targets/"
TARGET = audit_object_type(TargetSession)


@pytest.fixture(autouse=True)
def frozen_clock():
    clock.freeze(START)


@pytest.fixture
def queued_verifications(monkeypatch) -> list:
    queued: list = []
    monkeypatch.setattr(tasks.verify_targets, "delay", lambda ids: queued.append(list(ids)))
    return queued


def request_target(actor, entity, *, venue="CME", gateway_type=GatewayType.CGW, requested_start=None) -> TargetSession:
    return new_release_target_request(
        actor=actor,
        entity=entity,
        venue=factories.venue(venue),
        gateway_type=gateway_type,
        requested_start=requested_start,
    )


def provisioned(target: TargetSession, client_user) -> TargetSession:
    target_provision(actor=PROVISIONING, target_id=target.pk)
    key_pair_create(actor=client_user, target=target)
    return TargetSession.objects.get(pk=target.pk)


def target_url(target, action: str = "") -> str:
    return f"/api/v1/targets/{target.pk}/" + (f"{action}/" if action else "")


def assert_closed_keys_revoked_port_freed(target: TargetSession, at: dt.datetime) -> None:
    target.refresh_from_db()
    assert (target.status, target.closed_at) == (TargetStatus.CLOSED, at)
    assert not TargetAddress.objects.filter(target=target, released=False).exists()
    assert KeyPair.objects.filter(target=target).count() == 2  # the client's and the probe's
    assert not KeyPair.objects.filter(target=target, revoked_at__isnull=True).exists()


# --- requesting -------------------------------------------------------------------------------


def test_a_request_opens_a_new_release_target_ready_in_48_hours_for_7_days(
    client_api, client_entity, django_capture_on_commit_callbacks, queued_verifications
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_api.post(TEST_TARGETS, {"venue": "CME", "gateway_type": "CGW"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["entity"] == client_entity.pk and body["group"] is None
    assert (body["environment"], body["temporary"], body["gateway_type"]) == ("NEW_RELEASE", "new_release", "CGW")
    assert body["ready_at"] == "2026-03-04T14:00:00Z"
    assert body["expires_at"] == "2026-03-11T14:00:00Z"
    assert (body["used"], body["capacity"]) == (0, 1000)
    assert [address["role"] for address in body["addresses"]] == ["primary", "backup"]
    port_range = PortRange.objects.get(environment=Environment.NEW_RELEASE)
    assert port_range.first_port <= body["port"] <= port_range.last_port
    target = TargetSession.objects.get(pk=body["id"])
    # provisioned on commit, but not verified before it is ready (R10, R16)
    assert target.status == TargetStatus.PROVISIONED
    assert queued_verifications == []
    event = AuditEvent.objects.get(object_type=TARGET, object_id=target.pk, action="open")
    assert event.actor == "client" and event.after["temporary"] == "new_release"


def test_a_later_requested_start_is_the_ready_time(client_user, client_entity):
    start = START + dt.timedelta(days=5)
    target = request_target(client_user, client_entity, requested_start=start)
    assert (target.ready_at, target.expires_at) == (start, start + WEEK)


def test_a_requested_start_sooner_than_48_hours_still_waits_48_hours(client_user, client_entity):
    target = request_target(client_user, client_entity, requested_start=START + HOUR)
    assert target.ready_at == START + 48 * HOUR


def test_an_msgw_target_listens_on_every_new_release_segment_gateway(account_manager, client_entity):
    target = request_target(account_manager, client_entity, venue="BROKERTEC", gateway_type=GatewayType.MSGW)
    addresses = TargetAddress.objects.filter(target=target)
    assert target.cgw_gateway is None and target.environment == Environment.NEW_RELEASE
    assert addresses.count() == 6  # BrokerTec: three segment gateways, primary and backup
    assert all(ip.startswith("127.20.") for ip in addresses.values_list("ip", flat=True))


@pytest.mark.parametrize(
    "body, status, code, field",
    [
        (
            {"venue": "CME", "gateway_type": "CGW", "requested_start": "2026-03-02T13:59:00Z"},
            400,
            "invalid",
            "requested_start",
        ),
        (
            {"venue": "CME", "gateway_type": "CGW", "requested_start": "2026-03-09T10:00:00"},
            400,
            "invalid",
            "requested_start",
        ),
        ({"venue": "CME", "gateway_type": "CGW", "requested_start": "soon"}, 400, "invalid", "requested_start"),
        ({"venue": "CME", "gateway_type": "XGW"}, 400, "invalid", "gateway_type"),
        ({"venue": "CME"}, 400, "invalid", "gateway_type"),
        ({"venue": "CME", "gateway_type": "CGW", "entity": "me"}, 400, "invalid", "entity"),
        ({"venue": "CME", "gateway_type": "CGW", "entity": 10**12}, 400, "invalid", "entity"),
        ({"venue": "EBS Direct", "gateway_type": "CGW"}, 400, "venue_not_supported", None),
        ({"venue": {"x": 1}, "gateway_type": "CGW"}, 400, "venue_not_supported", None),
        ({"venue": "BROKERTEC", "gateway_type": "CGW"}, 400, "gateway_type_not_supported", None),
    ],
)
def test_bad_input_is_refused_never_a_500(client_api, body, status, code, field):
    error = assert_error(client_api.post(TEST_TARGETS, body, format="json"), status, code)
    if field:
        assert error["errors"][field]
    assert not TargetSession.objects.exists()


def test_malformed_bodies_are_invalid(client_api):
    assert_error(client_api.post(TEST_TARGETS, "{", content_type="application/json"), 400, "invalid")
    assert_error(client_api.post(TEST_TARGETS, "[1]", content_type="application/json"), 400, "invalid")
    assert_error(client_api.post(TEST_TARGETS, "x", content_type="text/plain"), 415, "unsupported_media_type")


def test_who_may_request(am_api, client_api, clearing_api, finance_api, api_for, client_entity):
    other = factories.EntityFactory()
    body = {"venue": "CME", "gateway_type": "CGW"}
    # an account manager gives the entity; a client cannot name another entity (it reads as missing)
    assert_error(am_api.post(TEST_TARGETS, body, format="json"), 400, "invalid")
    assert am_api.post(TEST_TARGETS, {**body, "entity": other.pk}, format="json").status_code == 201
    assert_error(client_api.post(TEST_TARGETS, {**body, "entity": other.pk}, format="json"), 400, "invalid")
    assert client_api.post(TEST_TARGETS, {**body, "entity": client_entity.pk}, format="json").status_code == 201
    for api in (clearing_api, finance_api):
        assert_error(api.post(TEST_TARGETS, {**body, "entity": other.pk}, format="json"), 403, "permission_denied")
    # a client whose entity may not self-serve: not on CME, but on EBS (R3a)
    user = factories.UserFactory(role=Role.CLIENT, entity=factories.EntityFactory(self_service=False))
    assert_error(api_for(user).post(TEST_TARGETS, body, format="json"), 403, "permission_denied")
    assert api_for(user).post(TEST_TARGETS, {"venue": "EBS", "gateway_type": "MSGW"}, format="json").status_code == 201
    assert_error(client_api.get(TEST_TARGETS), 405, "method_not_allowed")


# --- readiness and verification (R10, R16) -----------------------------------------------------


def test_verify_is_refused_before_ready_at_and_accepted_from_then_on(
    am_api, client_user, client_entity, queued_verifications
):
    target = provisioned(request_target(client_user, client_entity), client_user)
    clock.advance(48 * HOUR - dt.timedelta(seconds=1))
    assert_error(am_api.post(target_url(target, "verify")), 409, "invalid_transition")
    clock.advance(dt.timedelta(seconds=1))
    assert am_api.post(target_url(target, "verify")).status_code == 202


def test_a_temporary_target_is_verified_once_when_it_becomes_ready(
    client_user, client_entity, account_manager, queued_verifications, django_capture_on_commit_callbacks
):
    def verify_ready() -> int:
        """The scheduled task, its verifications queued as when it runs outside a test's transaction."""
        with django_capture_on_commit_callbacks(execute=True):
            return entitlements_tasks.verify_ready_temporary_targets()

    target = provisioned(request_target(client_user, client_entity), client_user)
    later = provisioned(request_target(client_user, client_entity, requested_start=START + 72 * HOUR), client_user)
    pending = request_target(client_user, client_entity)  # never provisioned: nothing to verify
    cert_target = certification_request(
        actor=client_user,
        entity=client_entity,
        front_end_system=factories.FrontEndSystemFactory(entity=client_entity),
        venue=factories.venue("CME"),
        gateway_type=GatewayType.CGW,
    ).target
    target_provision(actor=PROVISIONING, target_id=cert_target.pk)
    assert verify_ready() == 0
    clock.advance(48 * HOUR)
    assert verify_ready() == 2
    assert queued_verifications == [sorted([target.pk, cert_target.pk])]
    assert pending.pk not in queued_verifications[0] and later.pk not in queued_verifications[0]
    for checked in (target, cert_target):
        ConnectivityCheck.objects.create(
            target=checked,
            ip="127.20.0.1",
            role="primary",
            outcome=CheckOutcome.OK,
            checked_at=clock.now(),
        )
    assert verify_ready() == 0  # run again: nothing new
    clock.advance(24 * HOUR)
    assert verify_ready() == 1
    assert queued_verifications[-1] == [later.pk]


# --- expiry (R10) -------------------------------------------------------------------------------


def test_the_scheduled_task_closes_it_7_days_after_ready_revoking_keys_and_freeing_the_port(
    client_user, client_entity, django_capture_on_commit_callbacks
):
    target = provisioned(request_target(client_user, client_entity), client_user)
    port = target.port
    clock.advance(48 * HOUR + WEEK - dt.timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert entitlements_tasks.expire_temporary_targets() == 0
    assert TargetSession.objects.get(pk=target.pk).status == TargetStatus.PROVISIONED
    clock.advance(dt.timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert entitlements_tasks.expire_temporary_targets() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert entitlements_tasks.expire_temporary_targets() == 0  # idempotent
    assert_closed_keys_revoked_port_freed(target, START + 48 * HOUR + WEEK)
    events = AuditEvent.objects.filter(object_type=TARGET, object_id=target.pk, action="close")
    assert [(e.actor, e.before["status"], e.after["status"]) for e in events] == [
        ("system:expire_temporary_targets", "provisioned", "closed")
    ]
    revocations = AuditEvent.objects.filter(object_type=audit_object_type(KeyPair), action="revoke")
    assert revocations.count() == 2 and {e.actor for e in revocations} == {"system:expire_temporary_targets"}
    # the entity's administrators were told at expiry, once
    assert [message.to for message in mail.outbox] == [["client@example.com"]]
    assert "has expired" in mail.outbox[0].subject and target.target_comp_id in mail.outbox[0].subject
    # the freed port is taken by the next target on the same addresses
    assert request_target(client_user, client_entity).port == port


def test_expiry_e_mails_go_to_each_entitys_active_administrators_only(
    account_manager, client_user, client_entity, django_capture_on_commit_callbacks
):
    factories.UserFactory(role=Role.CLIENT, entity=client_entity, username="colleague")
    factories.UserFactory(role=Role.CLIENT, entity=client_entity, username="gone", is_active=False)
    silent = factories.EntityFactory()  # no administrator with an e-mail address
    request_target(account_manager, client_entity)
    request_target(account_manager, silent)
    clock.advance(48 * HOUR + WEEK)
    with django_capture_on_commit_callbacks(execute=True):
        assert temporary_targets_expire(actor=account_manager) == 2
    assert [sorted(message.to) for message in mail.outbox] == [["client@example.com", "colleague@example.com"]]


def test_two_days_before_expiry_the_administrators_are_warned_once(
    client_user, client_entity, django_capture_on_commit_callbacks
):
    target = request_target(client_user, client_entity)
    warn_at = target.expires_at - 48 * HOUR
    clock.freeze(warn_at - dt.timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert entitlements_tasks.warn_expiring_test_targets() == 0
    clock.freeze(warn_at)
    with django_capture_on_commit_callbacks(execute=True):
        assert entitlements_tasks.warn_expiring_test_targets() == 1
    clock.advance(HOUR)
    with django_capture_on_commit_callbacks(execute=True):
        assert entitlements_tasks.warn_expiring_test_targets() == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["client@example.com"] and "expires soon" in mail.outbox[0].subject
    assert "2026-03-11T14:00:00Z" in mail.outbox[0].body
    target.refresh_from_db()
    assert target.expiry_warned_at == warn_at
    event = AuditEvent.objects.get(object_type=TARGET, object_id=target.pk, action="warn_expiry")
    assert event.actor == "system:warn_expiring_test_targets"
    assert event.before["expiry_warned_at"] is None and event.after["expiry_warned_at"] is not None
    # then at expiry, once more
    clock.freeze(target.expires_at)
    with django_capture_on_commit_callbacks(execute=True):
        entitlements_tasks.expire_temporary_targets()
        entitlements_tasks.warn_expiring_test_targets()
    assert len(mail.outbox) == 2 and "has expired" in mail.outbox[1].subject


def test_autocert_targets_get_no_test_target_e_mails(client_user, client_entity, django_capture_on_commit_callbacks):
    certification_request(
        actor=client_user,
        entity=client_entity,
        front_end_system=factories.FrontEndSystemFactory(entity=client_entity),
        venue=factories.venue("CME"),
        gateway_type=GatewayType.CGW,
    )
    clock.advance(dt.timedelta(days=13))
    with django_capture_on_commit_callbacks(execute=True):
        assert entitlements_tasks.warn_expiring_test_targets() == 0
    clock.advance(dt.timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert entitlements_tasks.expire_temporary_targets() == 1
    assert mail.outbox == []


def test_group_targets_never_expire(account_manager, client_user, client_entity):
    group = factories.GroupFactory(entity=client_entity, environment=Environment.NEW_RELEASE)
    target = TargetSession.objects.create(
        group=group,
        entity=client_entity,
        venue_id="CME",
        environment=Environment.NEW_RELEASE,
        gateway_type=GatewayType.MSGW,
        target_comp_id="GROUP1N",
        port=30999,
        capacity=5000,
        created_at=START,
    )
    clock.advance(dt.timedelta(days=400))
    assert temporary_targets_expire(actor=account_manager) == 0
    with pytest.raises(Exception) as refused:
        new_release_target_renew(actor=account_manager, target=target)
    assert refused.value.code == "invalid_transition"
    with pytest.raises(Exception) as refused:
        temporary_target_rescind(actor=account_manager, target=target)
    assert refused.value.code == "invalid_transition"


# --- renewal and rescission ---------------------------------------------------------------------


def test_an_account_manager_renews_before_expiry_adding_7_days(am_api, client_user, client_entity):
    target = request_target(client_user, client_entity)
    original = target.expires_at
    TargetSession.objects.filter(pk=target.pk).update(expiry_warned_at=original - 48 * HOUR)
    clock.freeze(original - dt.timedelta(seconds=1))
    response = am_api.post(target_url(target, "renew"), {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["expires_at"] == "2026-03-18T14:00:00Z"
    target.refresh_from_db()
    assert (target.expires_at, target.expiry_warned_at) == (original + WEEK, None)
    event = AuditEvent.objects.get(object_type=TARGET, object_id=target.pk, action="renew")
    assert event.actor == "am"
    assert (event.before["expires_at"], event.after["expires_at"]) == ("2026-03-11T14:00:00Z", "2026-03-18T14:00:00Z")
    # the renewed target lives on past its first expiry and is warned again before the new one
    clock.freeze(original + HOUR)
    assert entitlements_tasks.expire_temporary_targets() == 0
    clock.freeze(original + WEEK - 48 * HOUR)
    assert entitlements_tasks.warn_expiring_test_targets() == 1
    clock.freeze(original + WEEK)
    assert entitlements_tasks.expire_temporary_targets() == 1


def test_renewal_is_refused_at_or_after_expiry_and_once_closed(am_api, client_user, client_entity):
    target = request_target(client_user, client_entity)
    clock.freeze(target.expires_at)
    assert_error(am_api.post(target_url(target, "renew")), 409, "invalid_transition")  # not closed yet, but expired
    entitlements_tasks.expire_temporary_targets()
    assert_error(am_api.post(target_url(target, "renew")), 409, "invalid_transition")
    assert TargetSession.objects.get(pk=target.pk).expires_at == START + 48 * HOUR + WEEK
    assert not AuditEvent.objects.filter(action="renew").exists()


def test_renewal_is_refused_for_an_autocert_target(am_api, client_user, client_entity):
    target = certification_request(
        actor=client_user,
        entity=client_entity,
        front_end_system=factories.FrontEndSystemFactory(entity=client_entity),
        venue=factories.venue("CME"),
        gateway_type=GatewayType.CGW,
    ).target
    assert target.temporary == TemporaryKind.AUTOCERT
    assert_error(am_api.post(target_url(target, "renew")), 409, "invalid_transition")


def test_only_account_managers_renew(client_api, clearing_api, finance_api, client_user, client_entity):
    target = request_target(client_user, client_entity)
    assert_error(client_api.post(target_url(target, "renew")), 403, "permission_denied")
    for api in (clearing_api, finance_api):
        assert_error(api.post(target_url(target, "renew")), 404, "not_found")
    stranger = factories.UserFactory(role=Role.CLIENT)
    theirs = request_target(stranger, stranger.entity, venue="EBS")
    assert_error(client_api.post(target_url(theirs, "renew")), 404, "not_found")
    assert_error(client_api.post("/api/v1/targets/999999999/renew/"), 404, "not_found")
    assert TargetSession.objects.get(pk=target.pk).expires_at == START + 48 * HOUR + WEEK


def test_an_account_manager_rescinds_a_live_test_target_at_once(account_manager, client_user, client_entity):
    target = provisioned(request_target(client_user, client_entity), client_user)
    with pytest.raises(Exception) as refused:
        temporary_target_rescind(actor=client_user, target=target)
    assert refused.value.code == "permission_denied"
    temporary_target_rescind(actor=account_manager, target=target)
    assert_closed_keys_revoked_port_freed(target, START)
    event = AuditEvent.objects.get(object_type=TARGET, object_id=target.pk, action="close")
    assert event.actor == "am"
    assert temporary_targets_expire(actor=account_manager) == 0
    clock.advance(WEEK * 2)
    assert temporary_targets_expire(actor=account_manager) == 0


def test_a_warning_run_and_an_expiry_run_on_an_already_warned_or_closed_target_do_nothing(
    account_manager, client_user, client_entity
):
    target = request_target(client_user, client_entity)
    temporary_target_rescind(actor=account_manager, target=target)
    clock.freeze(target.expires_at - HOUR)
    assert new_release_targets_warn_expiring(actor=account_manager) == 0
    clock.freeze(target.expires_at)
    assert temporary_targets_expire(actor=account_manager) == 0
