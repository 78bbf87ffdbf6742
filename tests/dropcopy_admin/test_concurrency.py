"""Uniqueness holds under racing transactions on separate connections (PostgreSQL row locks and
constraints), not only under the checks a single request makes."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from dropcopy_admin import clock, errors
from dropcopy_admin.choices import Environment, GatewayType, Role, TargetStatus
from dropcopy_admin.models import AuditEvent, DropCopyGroup, Membership, SourceSession, TargetSession
from dropcopy_admin.services.audit import SystemActor
from dropcopy_admin.services.groups import group_create
from dropcopy_admin.services.source_sessions import source_session_create
from entitlements.services.memberships import membership_request
from entitlements.services.temporary_targets import (
    new_release_target_request,
    new_release_targets_warn_expiring,
    temporary_targets_expire,
)
from tests import factories

RACERS = 6


def race(work, racers: int = RACERS) -> list:
    """Run ``work()`` in ``racers`` threads released together; return each outcome (result or DomainError)."""
    barrier = threading.Barrier(racers)
    outcomes: list = [None] * racers

    def run(index: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = work()
        except errors.DomainError as error:
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def codes(outcomes) -> list[str]:
    return sorted(outcome.code for outcome in outcomes if isinstance(outcome, errors.DomainError))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_group_creations_with_one_name_leave_one_open_group():
    user = factories.UserFactory(role=Role.ACCOUNT_MANAGER)
    entity = factories.EntityFactory()
    system = factories.FrontEndSystemFactory(entity=entity)
    factories.passed_certification(system)

    outcomes = race(
        lambda: group_create(
            actor=user,
            entity=entity,
            name="Risk desk",
            venue=factories.venue("CME"),
            environment=Environment.PRODUCTION,
            front_end_system=system,
        )
    )

    assert DropCopyGroup.objects.filter(entity=entity, name__iexact="risk desk").count() == 1
    assert codes(outcomes) == ["already_exists"] * (RACERS - 1)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_creations_cannot_both_confirm_the_free_group():
    """R13: creations for one entity are serialised, so only one confirms the free slot."""
    user = factories.UserFactory(role=Role.ACCOUNT_MANAGER)
    entity = factories.EntityFactory()
    system = factories.FrontEndSystemFactory(entity=entity)
    factories.passed_certification(system)

    outcomes = race(
        lambda: group_create(
            actor=user,
            entity=entity,
            name=f"Desk {threading.get_ident()}",
            venue=factories.venue("CME"),
            environment=Environment.PRODUCTION,
            front_end_system=system,
            confirmed_monthly_fee=Decimal("0.00"),
        )
    )

    assert DropCopyGroup.objects.filter(entity=entity).count() == 1
    assert codes(outcomes) == ["fee_changed"] * (RACERS - 1)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_requests_for_one_session_leave_one_live_membership():
    user = factories.UserFactory(role=Role.ACCOUNT_MANAGER)
    group = factories.GroupFactory()
    session = factories.SourceSessionFactory(gfid__entity=group.entity)

    outcomes = race(lambda: membership_request(actor=user, group=group, source_session=session))

    assert Membership.objects.filter(group=group, source_session=session).count() == 1
    assert codes(outcomes) == ["duplicate_membership"] * (RACERS - 1)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_registrations_of_one_sender_comp_id_store_it_once():
    user = factories.UserFactory(role=Role.ACCOUNT_MANAGER)
    gfid = factories.GfidFactory()

    outcomes = race(
        lambda: source_session_create(
            actor=user,
            sender_comp_id=f"AAA{gfid.code}N",
            venue=gfid.venue,
            environment=Environment.PRODUCTION,
            gateway_type=GatewayType.MSGW,
            gfid=gfid,
        )
    )

    assert SourceSession.objects.filter(sender_comp_id=f"AAA{gfid.code}N").count() == 1
    assert codes(outcomes) == ["already_exists"] * (RACERS - 1)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_expiry_and_warning_runs_close_and_warn_each_test_target_once(mailoutbox):
    """R10 scheduled work: concurrent runs skip the rows another run holds; nothing happens twice."""
    manager = factories.UserFactory(role=Role.ACCOUNT_MANAGER)
    entity = factories.EntityFactory()
    factories.UserFactory(role=Role.CLIENT, entity=entity, email="desk@example.com")
    targets = [
        new_release_target_request(actor=manager, entity=entity, venue=factories.venue("CME"), gateway_type="CGW")
        for _ in range(3)
    ]
    latest_expiry = max(target.expires_at for target in targets)

    clock.freeze(latest_expiry - dt.timedelta(hours=1))
    warned = race(lambda: new_release_targets_warn_expiring(actor=SystemActor("warn_expiring_test_targets")))
    clock.freeze(latest_expiry)
    closed = race(lambda: temporary_targets_expire(actor=SystemActor("expire_temporary_targets")))

    assert sum(warned) == 3 and sum(closed) == 3
    assert set(TargetSession.objects.filter(pk__in=[t.pk for t in targets]).values_list("status", flat=True)) == {
        TargetStatus.CLOSED
    }
    closes = AuditEvent.objects.filter(action="close", object_id__in=[t.pk for t in targets])
    assert closes.count() == 3
    subjects = sorted(message.subject for message in mailoutbox)
    assert len([s for s in subjects if "expires soon" in s]) == 3
    assert len([s for s in subjects if "has expired" in s]) == 3
