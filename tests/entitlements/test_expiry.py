"""Expiry of pending requests (R8): a request still pending 30 days after it was made expires, by a
scheduled task that is idempotent and audited as ``system:expire_pending_requests`` (R18). The clock
is moved, never waited for."""

import datetime as dt

import pytest
from django.conf import settings

from dropcopy_admin import clock
from dropcopy_admin.celery import app
from dropcopy_admin.choices import MembershipStatus
from dropcopy_admin.models import AuditEvent, Membership
from dropcopy_admin.models.audit import audit_object_type
from entitlements.choices import Decision
from entitlements.services import memberships as services
from entitlements.tasks import expire_pending_requests
from tests import factories

from .support import admin_control_session, guaranteed_session

pytestmark = pytest.mark.django_db

REQUESTED_AT = dt.datetime(2026, 3, 2, 15, 30, tzinfo=dt.UTC)
LIFETIME = dt.timedelta(days=30)
MEMBERSHIP = audit_object_type(Membership)
EXPIRY_ACTOR = "system:expire_pending_requests"


@pytest.fixture
def group(client_entity):
    return factories.GroupFactory(entity=client_entity, name="Main")


@pytest.fixture
def requested(client_user, group, clearing_firm, clearing_user):
    """At ``REQUESTED_AT``: two pending requests, one auto-approved, one pending then approved."""
    clock.freeze(REQUESTED_AT)
    sessions = [
        guaranteed_session(group.entity, clearing_firm),
        guaranteed_session(group.entity, clearing_firm),
        admin_control_session(group.entity, clearing_firm),
        guaranteed_session(group.entity, clearing_firm),
    ]
    first, second, auto, decided = (
        outcome.membership
        for outcome in services.memberships_request(actor=client_user, group=group, sessions=sessions)
    )
    assert auto.status == MembershipStatus.APPROVED
    decided = services.membership_decide(actor=clearing_user, membership=decided, decision=Decision.APPROVE)
    return {"pending": [first, second], "auto": auto, "decided": decided}


def _statuses(memberships) -> list[str]:
    return [Membership.objects.get(pk=m.pk).status for m in memberships]


def _expiry_events():
    return AuditEvent.objects.filter(object_type=MEMBERSHIP, action="expire")


def test_a_request_pending_for_29_days_is_still_pending(requested):
    clock.advance(dt.timedelta(days=29))
    assert expire_pending_requests.delay().get() == 0
    assert _statuses(requested["pending"]) == [MembershipStatus.PENDING] * 2
    assert not _expiry_events().exists()


def test_a_request_pending_for_exactly_30_days_is_still_pending(requested):
    clock.advance(LIFETIME)
    assert expire_pending_requests() == 0
    assert _statuses(requested["pending"]) == [MembershipStatus.PENDING] * 2


def test_a_request_pending_for_30_days_and_a_second_expires_with_its_end_time(requested):
    clock.advance(LIFETIME + dt.timedelta(seconds=1))
    assert expire_pending_requests.delay().get() == 2
    for membership in requested["pending"]:
        membership.refresh_from_db()
        assert membership.status == MembershipStatus.EXPIRED
        assert membership.ended_at == REQUESTED_AT + LIFETIME + dt.timedelta(seconds=1)
        assert membership.target is None and membership.decided_by is None


def test_approved_memberships_are_left_untouched(requested):
    clock.advance(LIFETIME * 2)
    expire_pending_requests()
    for membership in (requested["auto"], requested["decided"]):
        before = (membership.status, membership.target_id, membership.ended_at)
        membership.refresh_from_db()
        assert (membership.status, membership.target_id, membership.ended_at) == before
        assert membership.status == MembershipStatus.APPROVED and membership.ended_at is None
    assert set(_expiry_events().values_list("object_id", flat=True)) == {m.pk for m in requested["pending"]}


def test_a_request_made_later_expires_later(requested, client_user, group, clearing_firm):
    clock.advance(dt.timedelta(days=20))
    (later,) = services.memberships_request(
        actor=client_user, group=group, sessions=[guaranteed_session(group.entity, clearing_firm)]
    )
    clock.advance(dt.timedelta(days=10, seconds=1))
    assert expire_pending_requests() == 2
    assert _statuses([later.membership]) == [MembershipStatus.PENDING]
    clock.advance(dt.timedelta(days=20))
    assert expire_pending_requests() == 1
    assert _statuses([later.membership]) == [MembershipStatus.EXPIRED]


def test_running_the_task_twice_changes_nothing_the_second_time(requested):
    clock.advance(LIFETIME + dt.timedelta(seconds=1))
    assert expire_pending_requests() == 2
    ended = {m.pk: m.ended_at for m in Membership.objects.filter(status=MembershipStatus.EXPIRED)}
    clock.advance(dt.timedelta(hours=1))
    assert expire_pending_requests() == 0
    assert {m.pk: m.ended_at for m in Membership.objects.filter(status=MembershipStatus.EXPIRED)} == ended
    assert _expiry_events().count() == 2


def test_each_expiry_is_audited_as_the_scheduled_task(requested):
    clock.advance(LIFETIME + dt.timedelta(seconds=1))
    expire_pending_requests()
    events = list(_expiry_events().order_by("object_id"))
    assert [event.object_id for event in events] == sorted(m.pk for m in requested["pending"])
    for event in events:
        assert (event.actor, event.actor_user) == (EXPIRY_ACTOR, None)
        assert event.at == REQUESTED_AT + LIFETIME + dt.timedelta(seconds=1)
        assert (event.before["status"], event.after["status"]) == (MembershipStatus.PENDING, MembershipStatus.EXPIRED)
        assert event.before["ended_at"] is None and event.after["ended_at"] is not None


def test_an_expired_request_can_no_longer_be_decided(requested, clearing_user):
    clock.advance(LIFETIME + dt.timedelta(seconds=1))
    expire_pending_requests()
    (outcome,) = services.memberships_decide(
        actor=clearing_user, memberships=[requested["pending"][0]], decision=Decision.APPROVE
    )
    assert outcome.error is not None and outcome.error.code == "invalid_transition"


def test_the_lifetime_is_30_days_in_settings():
    assert settings.DROPCOPY["PENDING_REQUEST_LIFETIME_DAYS"] == 30


def test_the_beat_schedule_runs_the_expiry_task():
    scheduled = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "entitlements.tasks.expire_pending_requests" in scheduled
    assert expire_pending_requests.name == "entitlements.tasks.expire_pending_requests"
    assert expire_pending_requests.name in app.tasks
    assert any(entry["task"] == expire_pending_requests.name for entry in app.conf.beat_schedule.values())
