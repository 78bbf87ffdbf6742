"""memberships/bulk/ and memberships/bulk-decide/: each item succeeds or fails on its own; errors
about the call itself answer the whole call (api-contract.md, "Errors"); bulk approval allocates a
whole set at once (R6)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dropcopy_admin.choices import MembershipStatus, Role
from dropcopy_admin.models import Membership, TargetSession
from dropcopy_admin.services.groups import group_close
from entitlements.api.approvals import BULK_MAX_ITEMS
from entitlements.choices import Decision
from entitlements.services import memberships as services
from tests import factories
from tests.support import assert_error

from .support import (
    MEMBERSHIPS,
    admin_control_session,
    brokertec_session,
    guaranteed_session,
    msgw_session,
)

pytestmark = pytest.mark.django_db

BULK = f"{MEMBERSHIPS}bulk/"
BULK_DECIDE = f"{MEMBERSHIPS}bulk-decide/"


@pytest.fixture
def group(client_entity):
    return factories.GroupFactory(entity=client_entity, name="Main")


def requested(client_user, group, count: int, *, firm) -> list[Membership]:
    return [
        services.membership_request(
            actor=client_user, group=group, source_session=guaranteed_session(group.entity, firm)
        )
        for _ in range(count)
    ]


# --- bulk requests ----------------------------------------------------------------------------


def test_bulk_request_answers_each_session_in_order_on_its_own(
    client_api, client_user, client_entity, clearing_firm, group
):
    needs_decision = guaranteed_session(client_entity, clearing_firm)
    auto = admin_control_session(client_entity, clearing_firm)
    wrong_venue = brokertec_session(client_entity)
    invisible = factories.SourceSessionFactory()  # another entity's session
    ids = [needs_decision.pk, auto.pk, wrong_venue.pk, invisible.pk, 999999, needs_decision.pk]

    response = client_api.post(BULK, {"group": group.pk, "source_sessions": ids}, format="json")

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["source_session"] for r in results] == ids
    assert results[0]["membership"]["status"] == "pending"
    assert results[0]["membership"]["requested_by"] == client_user.pk
    assert results[1]["membership"]["status"] == "approved"
    assert results[1]["membership"]["auto_approved"] is True
    assert results[1]["membership"]["target"] is not None
    assert results[2]["error"]["code"] == "venue_mismatch"
    assert results[3]["error"]["code"] == "invalid"
    assert results[4]["error"]["code"] == "invalid"
    assert results[3]["error"]["detail"].replace(str(invisible.pk), "ID") == results[4]["error"]["detail"].replace(
        "999999", "ID"
    )
    assert results[5]["error"]["code"] == "duplicate_membership"
    for failed in results[2:]:
        assert set(failed) == {"source_session", "error"}
        assert set(failed["error"]) == {"code", "detail"}
    assert Membership.objects.filter(group=group).count() == 2


def test_bulk_request_where_every_item_fails_still_answers_200(client_api, client_entity, group):
    response = client_api.post(
        BULK, {"group": group.pk, "source_sessions": [brokertec_session(client_entity).pk]}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["results"][0]["error"]["code"] == "venue_mismatch"
    assert not Membership.objects.exists()


def test_bulk_request_of_a_session_already_in_the_group_is_duplicate_membership(
    client_api, client_user, clearing_firm, group
):
    (existing,) = requested(client_user, group, 1, firm=clearing_firm)

    response = client_api.post(
        BULK, {"group": group.pk, "source_sessions": [existing.source_session_id]}, format="json"
    )

    assert response.json()["results"][0]["error"]["code"] == "duplicate_membership"


def test_bulk_auto_approval_places_the_whole_set_on_targets(settings, am_api, client_entity, clearing_firm, group):
    settings.DROPCOPY = {**settings.DROPCOPY, "CGW_TARGET_CAPACITY": 3}
    sessions = [admin_control_session(client_entity, clearing_firm) for _ in range(7)]

    response = am_api.post(BULK, {"group": group.pk, "source_sessions": [s.pk for s in sessions]}, format="json")

    assert response.status_code == 200, response.content
    targets = [r["membership"]["target"] for r in response.json()["results"]]
    assert sorted(TargetSession.objects.filter(group=group).values_list("used", flat=True)) == [1, 3, 3]
    assert len(set(targets)) == 3
    assert targets[:3] == [targets[0]] * 3


def test_bulk_request_into_an_invisible_or_missing_group_is_invalid(client_api, client_entity, clearing_firm):
    session = guaranteed_session(client_entity, clearing_firm)
    for group_id in (factories.GroupFactory().pk, 999999):
        body = assert_error(
            client_api.post(BULK, {"group": group_id, "source_sessions": [session.pk]}, format="json"), 400, "invalid"
        )
        assert "group" in body["errors"]
    assert not Membership.objects.exists()


def test_bulk_request_into_a_closed_group_is_group_closed(client_api, client_user, client_entity, clearing_firm, group):
    group_close(actor=client_user, group=group)

    assert_error(
        client_api.post(
            BULK,
            {"group": group.pk, "source_sessions": [guaranteed_session(client_entity, clearing_firm).pk]},
            format="json",
        ),
        409,
        "group_closed",
    )
    assert not Membership.objects.exists()


def test_bulk_request_naming_a_target_is_target_not_selectable(client_api, client_entity, clearing_firm, group):
    session = guaranteed_session(client_entity, clearing_firm)

    assert_error(
        client_api.post(BULK, {"group": group.pk, "source_sessions": [session.pk], "target": None}, format="json"),
        400,
        "target_not_selectable",
    )


@pytest.mark.parametrize(
    "body",
    [
        {"source_sessions": [1]},
        {"group": 1},
        {"group": 1, "source_sessions": []},
        {"group": 1, "source_sessions": "1,2"},
        {"group": 1, "source_sessions": ["abc"]},
        {"group": 1, "source_sessions": [True]},
        {"group": 1, "source_sessions": [0]},
    ],
)
def test_bulk_request_with_a_malformed_body_is_invalid(client_api, group, body):
    body = {**body, "group": group.pk} if "group" in body else body
    assert_error(client_api.post(BULK, body, format="json"), 400, "invalid")


def test_bulk_request_of_too_many_sessions_is_invalid(client_api, group):
    ids = list(range(1, BULK_MAX_ITEMS + 2))

    body = assert_error(
        client_api.post(BULK, {"group": group.pk, "source_sessions": ids}, format="json"), 400, "invalid"
    )
    assert "source_sessions" in body["errors"]


def test_a_client_without_self_service_may_not_bulk_request(api_for, clearing_firm):
    entity = factories.EntityFactory(self_service=False)
    api = api_for(factories.UserFactory(role=Role.CLIENT, entity=entity))
    group = factories.GroupFactory(entity=entity)

    response = api.post(
        BULK, {"group": group.pk, "source_sessions": [guaranteed_session(entity, clearing_firm).pk]}, format="json"
    )

    assert_error(response, 403, "permission_denied")


# --- bulk decisions ---------------------------------------------------------------------------


def test_bulk_approve_answers_each_membership_in_order_on_its_own(
    clearing_api, clearing_user, client_user, clearing_firm, group
):
    first, second, rejected = requested(client_user, group, 3, firm=clearing_firm)
    services.membership_decide(actor=clearing_user, membership=rejected, decision=Decision.REJECT, reason="No")
    other_firms = requested(client_user, group, 1, firm=factories.ClearingFirmFactory())[0]
    ids = [first.pk, rejected.pk, other_firms.pk, 999999, second.pk, first.pk]

    response = clearing_api.post(BULK_DECIDE, {"memberships": ids, "decision": "approve"}, format="json")

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert len(results) == 6
    assert set(results[0]) == {"membership"}
    assert results[0]["membership"]["id"] == first.pk
    assert results[0]["membership"]["status"] == "approved"
    assert results[0]["membership"]["target"] is not None
    assert results[1] == {"id": rejected.pk, "error": results[1]["error"]}
    assert results[1]["error"]["code"] == "invalid_transition"
    assert results[2]["id"] == other_firms.pk and results[2]["error"]["code"] == "not_found"
    assert results[3]["id"] == 999999 and results[3]["error"]["code"] == "not_found"
    assert results[2]["error"]["detail"].replace(str(other_firms.pk), "ID") == results[3]["error"]["detail"].replace(
        "999999", "ID"
    )
    assert results[4]["membership"]["status"] == "approved"
    assert results[5]["id"] == first.pk and results[5]["error"]["code"] == "invalid"
    assert Membership.objects.get(pk=other_firms.pk).status == MembershipStatus.PENDING
    assert TargetSession.objects.get(pk=results[0]["membership"]["target"]).used == 2


def test_bulk_reject_and_revoke_record_the_reason(clearing_api, clearing_user, client_user, clearing_firm, group):
    to_reject = requested(client_user, group, 2, firm=clearing_firm)
    to_revoke = requested(client_user, group, 2, firm=clearing_firm)
    services.memberships_decide(actor=clearing_user, memberships=to_revoke, decision=Decision.APPROVE)

    rejected = clearing_api.post(
        BULK_DECIDE, {"memberships": [m.pk for m in to_reject], "decision": "reject", "reason": "No"}, format="json"
    )
    revoked = clearing_api.post(
        BULK_DECIDE, {"memberships": [m.pk for m in to_revoke], "decision": "revoke", "reason": "Gone"}, format="json"
    )

    assert [r["membership"]["status"] for r in rejected.json()["results"]] == ["rejected", "rejected"]
    assert [r["membership"]["reason"] for r in revoked.json()["results"]] == ["Gone", "Gone"]
    assert [r["membership"]["target"] for r in revoked.json()["results"]] == [None, None]
    assert TargetSession.objects.get(group=group).used == 0


@pytest.mark.parametrize("decision", ["reject", "revoke"])
def test_bulk_reject_or_revoke_without_a_reason_is_invalid_for_the_whole_call(
    clearing_api, client_user, clearing_firm, group, decision
):
    memberships = requested(client_user, group, 2, firm=clearing_firm)

    body = assert_error(
        clearing_api.post(
            BULK_DECIDE, {"memberships": [m.pk for m in memberships], "decision": decision}, format="json"
        ),
        400,
        "invalid",
    )
    assert "reason" in body["errors"]


def test_bulk_decision_by_an_account_manager_needs_a_reason(am_api, client_user, clearing_firm, group):
    memberships = requested(client_user, group, 2, firm=clearing_firm)
    ids = [m.pk for m in memberships]

    assert_error(am_api.post(BULK_DECIDE, {"memberships": ids, "decision": "approve"}, format="json"), 400, "invalid")
    response = am_api.post(
        BULK_DECIDE, {"memberships": ids, "decision": "approve", "reason": "On behalf"}, format="json"
    )
    assert [r["membership"]["status"] for r in response.json()["results"]] == ["approved", "approved"]


def test_bulk_decision_on_own_requests_is_self_approval_per_item(
    am_api, account_manager, client_user, clearing_firm, group
):
    (someone_elses,) = requested(client_user, group, 1, firm=clearing_firm)
    own = services.membership_request(
        actor=account_manager, group=group, source_session=guaranteed_session(group.entity, clearing_firm)
    )

    response = am_api.post(
        BULK_DECIDE, {"memberships": [own.pk, someone_elses.pk], "decision": "approve", "reason": "ok"}, format="json"
    )

    results = response.json()["results"]
    assert results[0]["error"]["code"] == "self_approval"
    assert results[1]["membership"]["status"] == "approved"


def test_bulk_approval_past_the_msgw_capacity_refuses_only_the_overflow(
    settings, clearing_api, client_user, clearing_firm, group
):
    settings.DROPCOPY = {**settings.DROPCOPY, "MSGW_TARGET_CAPACITY": 3}
    memberships = [
        services.membership_request(
            actor=client_user, group=group, source_session=msgw_session(group.entity, clearing_firm)
        )
        for _ in range(5)
    ]

    response = clearing_api.post(
        BULK_DECIDE, {"memberships": [m.pk for m in memberships], "decision": "approve"}, format="json"
    )

    results = response.json()["results"]
    assert [("membership" in r) for r in results] == [True, True, True, False, False]
    assert {r["error"]["code"] for r in results[3:]} == {"capacity_exceeded"}
    assert "at most 3" in results[3]["error"]["detail"]
    assert Membership.objects.filter(group=group, status=MembershipStatus.PENDING).count() == 2


@pytest.mark.parametrize(
    "body",
    [
        {"decision": "approve"},
        {"memberships": [1]},
        {"memberships": [1], "decision": "withdraw"},
        {"memberships": [], "decision": "approve"},
        {"memberships": ["x"], "decision": "approve"},
        {"memberships": list(range(1, BULK_MAX_ITEMS + 2)), "decision": "approve"},
    ],
)
def test_bulk_decision_with_a_malformed_body_is_invalid(clearing_api, body):
    assert_error(clearing_api.post(BULK_DECIDE, body, format="json"), 400, "invalid")


def test_bulk_decision_costs_the_same_queries_for_3_or_30_memberships(clearing_api, client_user, clearing_firm):
    def approve_all(count: int) -> int:
        group = factories.GroupFactory(entity=client_user.entity)
        ids = [m.pk for m in requested(client_user, group, count, firm=clearing_firm)]
        with CaptureQueriesContext(connection) as queries:
            response = clearing_api.post(BULK_DECIDE, {"memberships": ids, "decision": "approve"}, format="json")
        assert all("membership" in r for r in response.json()["results"])
        return len(queries)

    assert approve_all(3) == approve_all(30)
