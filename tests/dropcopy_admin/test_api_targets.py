"""targets/ (read only) and groups/{id}/target-preview/: fields, visibility per role, filters,
constant query cost (R6, R7, R17)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dropcopy_admin.choices import Environment, GatewayType, TargetStatus
from dropcopy_admin.models import Membership, TargetSession
from dropcopy_admin.services.groups import group_close
from dropcopy_admin.services.targets import target_record_provisioning_error
from dropcopy_admin.tasks import PROVISIONING
from entitlements.choices import Decision
from entitlements.services import memberships as services
from tests import factories
from tests.entitlements.support import (
    TARGETS,
    admin_control_session,
    brokertec_session,
    guaranteed_session,
    msgw_session,
)
from tests.support import assert_error

pytestmark = pytest.mark.django_db

TARGET_FIELDS = {
    "id",
    "group",
    "entity",
    "venue",
    "gateway_type",
    "target_comp_id",
    "environment",
    "cgw_gateway",
    "port",
    "status",
    "provisioning_error",
    "capacity",
    "used",
    "temporary",
    "ready_at",
    "expires_at",
    "created_at",
    "closed_at",
    "addresses",
}


@pytest.fixture
def group(client_entity):
    return factories.GroupFactory(entity=client_entity, name="Main")


def auto_approved(actor, group, session) -> Membership:
    membership = services.membership_request(actor=actor, group=group, source_session=session)
    assert membership.auto_approved
    return membership


@pytest.fixture
def cgw_target(client_user, client_entity, clearing_firm, group) -> TargetSession:
    membership = auto_approved(client_user, group, admin_control_session(client_entity, clearing_firm))
    return membership.target


def target_url(target) -> str:
    return f"{TARGETS}{target.pk if hasattr(target, 'pk') else target}/"


def preview_url(group) -> str:
    return f"/api/v1/groups/{group.pk}/target-preview/"


# --- fields -----------------------------------------------------------------------------------


def test_a_cgw_target_reads_with_every_contract_field(client_api, cgw_target, group):
    response = client_api.get(target_url(cgw_target))

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == TARGET_FIELDS
    assert body["group"] == group.pk
    assert body["entity"] == group.entity_id
    assert body["venue"] == "CME"
    assert body["gateway_type"] == "CGW"
    assert re.fullmatch(r"[A-Z0-9]{6}N", body["target_comp_id"])
    assert body["environment"] == "PRODUCTION"
    assert body["cgw_gateway"] == cgw_target.cgw_gateway_id
    assert body["status"] == "pending"
    assert body["provisioning_error"] is None
    assert (body["capacity"], body["used"]) == (1000, 1)
    assert body["temporary"] is None
    assert body["ready_at"] is None and body["expires_at"] is None
    gateway = cgw_target.cgw_gateway
    assert body["addresses"] == [
        {"ip": gateway.primary_ip, "role": "primary", "market_segment": None, "target_sub_id": "G"},
        {"ip": gateway.backup_ip, "role": "backup", "market_segment": None, "target_sub_id": "G"},
    ]
    assert body["port"] == cgw_target.port


def test_a_cme_msgw_target_lists_38_addresses_with_segment_sub_ids(
    client_api, client_user, client_entity, clearing_firm, group
):
    gfid = factories.GfidFactory(entity=client_entity, clearing_firm=clearing_firm, admin_control=True)
    session = factories.SourceSessionFactory(gfid=gfid, gateway_type=GatewayType.MSGW)
    target = auto_approved(client_user, group, session).target

    body = client_api.get(target_url(target)).json()

    assert body["gateway_type"] == "MSGW"
    assert body["cgw_gateway"] is None
    assert body["capacity"] == 5000
    assert len(body["addresses"]) == 38
    for address in body["addresses"]:
        assert address["target_sub_id"] == f"{address['market_segment']:02d}"
    assert {a["role"] for a in body["addresses"]} == {"primary", "backup"}


def test_a_provisioning_error_reads_as_code_and_detail(client_api, cgw_target):
    error = RuntimeError("gateway unreachable")
    error.code = "gateway_unreachable"
    target_record_provisioning_error(actor=PROVISIONING, target_id=cgw_target.pk, error=error)

    body = client_api.get(target_url(cgw_target)).json()

    assert body["provisioning_error"] == {"code": "gateway_unreachable", "detail": "gateway unreachable"}


def test_a_provisioned_target_reads_provisioned(
    client_api, client_user, client_entity, clearing_firm, group, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("dropcopy_admin.tasks.verify_targets.delay", lambda _ids: None)  # no gateway here (R16)
    with django_capture_on_commit_callbacks(execute=True):
        target = auto_approved(client_user, group, admin_control_session(client_entity, clearing_firm)).target

    assert client_api.get(target_url(target)).json()["status"] == "provisioned"


def test_a_closed_groups_target_reads_closed_without_its_released_addresses(client_api, client_user, cgw_target, group):
    group_close(actor=client_user, group=group)

    body = client_api.get(target_url(cgw_target)).json()

    assert body["status"] == "closed"
    assert body["used"] == 0
    assert body["closed_at"] is not None
    assert body["addresses"] == []
    assert body["port"] == cgw_target.port


def test_an_emptied_target_keeps_its_id_port_and_addresses(client_api, cgw_target):
    membership = cgw_target.memberships.get()
    assert client_api.delete(f"/api/v1/memberships/{membership.pk}/").status_code == 200

    body = client_api.get(target_url(cgw_target)).json()

    assert body["used"] == 0
    assert body["status"] == "pending"
    assert body["target_comp_id"] == cgw_target.target_comp_id
    assert len(body["addresses"]) == 2


# --- visibility -------------------------------------------------------------------------------


def test_a_client_lists_only_its_entitys_targets(client_api, cgw_target, account_manager):
    other_group = factories.GroupFactory()
    other = auto_approved(
        account_manager, other_group, admin_control_session(other_group.entity, factories.ClearingFirmFactory())
    ).target

    response = client_api.get(TARGETS)

    assert response.status_code == 200
    assert [t["id"] for t in response.json()["results"]] == [cgw_target.pk]
    assert_error(client_api.get(target_url(other)), 404, "not_found")


def test_an_account_manager_lists_every_target(am_api, cgw_target, account_manager):
    other_group = factories.GroupFactory()
    other = auto_approved(
        account_manager, other_group, admin_control_session(other_group.entity, factories.ClearingFirmFactory())
    ).target

    response = am_api.get(TARGETS)

    assert response.json()["count"] == 2
    assert [t["id"] for t in response.json()["results"]] == [cgw_target.pk, other.pk]


def test_clearing_firms_and_finance_have_no_access_to_targets(clearing_api, finance_api, cgw_target):
    for api in (clearing_api, finance_api):
        assert_error(api.get(TARGETS), 403, "permission_denied")
        assert_error(api.get(target_url(cgw_target)), 404, "not_found")


def test_a_missing_target_is_not_found(am_api):
    assert_error(am_api.get(target_url(999999)), 404, "not_found")


def test_targets_cannot_be_written(am_api, cgw_target):
    assert_error(am_api.post(TARGETS, {}, format="json"), 405, "method_not_allowed")
    assert_error(am_api.patch(target_url(cgw_target), {"port": 1}, format="json"), 405, "method_not_allowed")
    assert_error(am_api.delete(target_url(cgw_target)), 405, "method_not_allowed")


# --- filters ----------------------------------------------------------------------------------


def test_targets_filter_by_group_status_gateway_type_and_environment(
    am_api, account_manager, client_entity, clearing_firm, group, cgw_target
):
    msgw = auto_approved(account_manager, group, admin_control_msgw(client_entity, clearing_firm)).target
    other_group = factories.GroupFactory(entity=client_entity, environment=Environment.NEW_RELEASE)
    new_release = auto_approved(
        account_manager,
        other_group,
        factories.SourceSessionFactory(
            gfid=factories.GfidFactory(entity=client_entity, clearing_firm=clearing_firm, admin_control=True),
            environment=Environment.NEW_RELEASE,
        ),
    ).target
    TargetSession.objects.filter(pk=msgw.pk).update(status=TargetStatus.VERIFIED)

    def ids(query: str) -> list[int]:
        response = am_api.get(f"{TARGETS}?{query}")
        assert response.status_code == 200, response.content
        return [t["id"] for t in response.json()["results"]]

    assert ids(f"group={group.pk}") == [cgw_target.pk, msgw.pk]
    assert ids("gateway_type=MSGW") == [msgw.pk]
    assert ids("status=verified") == [msgw.pk]
    assert ids("status=pending") == [cgw_target.pk, new_release.pk]
    assert ids("environment=NEW_RELEASE") == [new_release.pk]
    assert ids(f"group={other_group.pk}&gateway_type=CGW") == [new_release.pk]


def admin_control_msgw(entity, firm):
    gfid = factories.GfidFactory(entity=entity, clearing_firm=firm, admin_control=True)
    return factories.SourceSessionFactory(gfid=gfid, gateway_type=GatewayType.MSGW)


@pytest.mark.parametrize("query", ["status=open", "gateway_type=FIX", "environment=prod", "group=abc", "group=999999"])
def test_a_malformed_target_filter_is_invalid(am_api, query):
    assert_error(am_api.get(f"{TARGETS}?{query}"), 400, "invalid")


def test_filtering_by_a_group_the_client_may_not_see_is_invalid(client_api):
    assert_error(client_api.get(f"{TARGETS}?group={factories.GroupFactory().pk}"), 400, "invalid")


def test_listing_targets_costs_the_same_queries_for_1_or_50(settings, am_api, account_manager, clearing_firm):
    settings.DROPCOPY = {**settings.DROPCOPY, "CGW_TARGET_CAPACITY": 1}

    def list_cost(count: int) -> int:
        group = factories.GroupFactory()
        sessions = [admin_control_session(group.entity, clearing_firm) for _ in range(count)]
        services.memberships_request(actor=account_manager, group=group, sessions=sessions)
        with CaptureQueriesContext(connection) as queries:
            response = am_api.get(f"{TARGETS}?group={group.pk}")
        assert response.json()["count"] == count
        assert all(len(t["addresses"]) == 2 for t in response.json()["results"])
        return len(queries)

    assert list_cost(1) == list_cost(50)


# --- target preview ---------------------------------------------------------------------------


def test_preview_counts_room_left_in_a_partly_full_target_and_names_refusals(
    settings, client_api, client_user, clearing_user, client_entity, clearing_firm, group
):
    settings.DROPCOPY = {**settings.DROPCOPY, "CGW_TARGET_CAPACITY": 3, "MSGW_TARGET_CAPACITY": 2}
    existing = [
        services.membership_request(
            actor=client_user, group=group, source_session=guaranteed_session(client_entity, clearing_firm)
        )
        for _ in range(2)
    ]
    services.memberships_decide(actor=clearing_user, memberships=existing, decision=Decision.APPROVE)
    existing_target = Membership.objects.get(pk=existing[0].pk).target_id
    cgw = [guaranteed_session(client_entity, clearing_firm) for _ in range(5)]
    msgw = [msgw_session(client_entity, clearing_firm) for _ in range(3)]
    wrong_venue = brokertec_session(client_entity)
    ids = [s.pk for s in [*cgw, *msgw, wrong_venue, existing[1].source_session]]

    response = client_api.post(preview_url(group), {"source_sessions": ids}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["new_targets"] == {"CGW": 2, "MSGW": 1}
    placements = body["placements"]
    assert [p["source_session"] for p in placements] == ids
    assert placements[0] == {
        "source_session": cgw[0].pk,
        "gateway_type": "CGW",
        "target": existing_target,
        "error": None,
    }
    assert [p["target"] for p in placements[1:8]] == [None] * 7
    assert [p["error"] for p in placements[1:7]] == [None] * 6
    assert placements[7]["gateway_type"] == "MSGW"
    assert placements[7]["error"]["code"] == "capacity_exceeded"
    assert "at most 2" in placements[7]["error"]["detail"]
    assert placements[8]["error"]["code"] == "venue_mismatch"
    assert placements[9]["error"]["code"] == "duplicate_membership"
    assert TargetSession.objects.count() == 1
    assert Membership.objects.count() == 2


def test_preview_of_an_invisible_session_is_invalid(client_api, group):
    body = assert_error(
        client_api.post(preview_url(group), {"source_sessions": [factories.SourceSessionFactory().pk]}, format="json"),
        400,
        "invalid",
    )
    assert "source_sessions" in body["errors"]


def test_preview_of_a_closed_group_is_group_closed(client_api, client_user, client_entity, clearing_firm, group):
    group_close(actor=client_user, group=group)

    assert_error(
        client_api.post(
            preview_url(group),
            {"source_sessions": [guaranteed_session(client_entity, clearing_firm).pk]},
            format="json",
        ),
        409,
        "group_closed",
    )


def test_preview_of_an_invisible_group_is_not_found(client_api, client_entity, clearing_firm):
    other = factories.GroupFactory()
    response = client_api.post(
        preview_url(other), {"source_sessions": [guaranteed_session(client_entity, clearing_firm).pk]}, format="json"
    )
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("body", [{}, {"source_sessions": []}, {"source_sessions": ["x"]}])
def test_preview_with_a_malformed_body_is_invalid(client_api, group, body):
    assert_error(client_api.post(preview_url(group), body, format="json"), 400, "invalid")


def test_an_account_manager_previews_any_group(am_api, group, client_entity, clearing_firm):
    response = am_api.post(
        preview_url(group), {"source_sessions": [guaranteed_session(client_entity, clearing_firm).pk]}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["new_targets"] == {"CGW": 1, "MSGW": 0}
