"""targets/{id}/keys/ and targets/{id}/keys/{key_id}/revoke/ (R11): the contract's fields, the
secret in the creating answer only, the probe key never listed, access per role (R3a)."""

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from dropcopy_admin import clock
from dropcopy_admin.choices import Role
from dropcopy_admin.models import AuditEvent, KeyPair, TargetSession
from dropcopy_admin.services.audit import SystemActor
from dropcopy_admin.services.targets import target_provision, targets_close
from entitlements.services import memberships as services
from tests import factories
from tests.entitlements.support import TARGETS, admin_control_session, brokertec_group, brokertec_session
from tests.support import assert_error

pytestmark = pytest.mark.django_db

KEY_FIELDS = {"id", "target", "access_key_id", "created_at", "expires_at", "revoked_at"}
CREATED_FIELDS = KEY_FIELDS | {"secret_key", "key_file"}
T0 = dt.datetime(2030, 6, 3, 9, 0, tzinfo=dt.UTC)


def keys_url(target) -> str:
    return f"{TARGETS}{target.pk if hasattr(target, 'pk') else target}/keys/"


def revoke_url(target, key_id) -> str:
    return f"{keys_url(target)}{key_id}/revoke/"


def target_of(actor, group, session) -> TargetSession:
    membership = services.membership_request(actor=actor, group=group, source_session=session)
    assert membership.auto_approved
    target_provision(actor=SystemActor("provision_target"), target_id=membership.target_id)
    return TargetSession.objects.get(pk=membership.target_id)


@pytest.fixture
def target(client_user, client_entity, clearing_firm) -> TargetSession:
    """A provisioned CME target of the client's entity, with its probe key pair."""
    group = factories.GroupFactory(entity=client_entity, name="Main")
    return target_of(client_user, group, admin_control_session(client_entity, clearing_firm))


def create(api, target):
    response = api.post(keys_url(target))
    assert response.status_code == 201, response.content
    return response.json()


# --- list, create, revoke ---------------------------------------------------------------------


def test_creating_answers_201_with_the_secret_and_the_key_file_once(client_api, target):
    clock.freeze(T0)
    body = create(client_api, target)

    assert set(body) == CREATED_FIELDS
    assert len(body["secret_key"]) == 43
    assert len(body["access_key_id"]) == 20
    assert body["target"] == target.pk
    assert body["created_at"] == "2030-06-03T09:00:00Z"
    assert body["expires_at"] == "2031-06-03T09:00:00Z"
    assert body["revoked_at"] is None
    header, row = csv.reader(io.StringIO(body["key_file"]))
    assert header == ["Session ID", "Access Key ID", "Secret Key", "Creation Date", "Expiration Date", "Environment"]
    assert row == [
        target.target_comp_id,
        body["access_key_id"],
        body["secret_key"],
        "2030-06-03T09:00:00Z",
        "2031-06-03T09:00:00Z",
        "PRODUCTION",
    ]


def test_the_list_has_the_contract_fields_and_never_a_secret(client_api, target):
    created = [create(client_api, target) for _ in range(2)]

    response = client_api.get(keys_url(target))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [c["id"] for c in created], "ordered by id"
    for row, made in zip(body["results"], created, strict=True):
        assert set(row) == KEY_FIELDS
        assert row["access_key_id"] == made["access_key_id"]
        text = response.content.decode()
        assert made["secret_key"] not in text


def test_the_probe_key_pair_is_never_listed(am_api, target):
    assert KeyPair.objects.filter(target=target, is_probe=True).count() == 1

    body = am_api.get(keys_url(target)).json()
    assert body["count"] == 0

    create(am_api, target)
    create(am_api, target)
    body = am_api.get(keys_url(target)).json()
    assert body["count"] == 2
    probe = KeyPair.objects.get(target=target, is_probe=True)
    assert probe.pk not in [row["id"] for row in body["results"]]
    assert probe.revoked_at is None


def test_the_probe_key_pair_cannot_be_revoked_through_the_api(am_api, target):
    probe = KeyPair.objects.get(target=target, is_probe=True)

    assert_error(am_api.post(revoke_url(target, probe.pk)), 404, "not_found")
    probe.refresh_from_db()
    assert probe.revoked_at is None


def test_a_third_key_revokes_the_oldest(client_api, target):
    clock.freeze(T0)
    first = create(client_api, target)
    clock.advance(dt.timedelta(days=1))
    second = create(client_api, target)
    clock.advance(dt.timedelta(days=1))
    create(client_api, target)

    rows = {row["id"]: row for row in client_api.get(keys_url(target)).json()["results"]}
    assert rows[first["id"]]["revoked_at"] == "2030-06-05T09:00:00Z"
    assert rows[second["id"]]["revoked_at"] is None
    assert rows[second["id"]]["expires_at"] == "2030-07-03T09:00:00Z"


def test_revoking_answers_200_with_the_key_and_again_409(client_api, target):
    clock.freeze(T0)
    made = create(client_api, target)
    clock.advance(dt.timedelta(minutes=5))

    response = client_api.post(revoke_url(target, made["id"]))

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == KEY_FIELDS
    assert body["revoked_at"] == "2030-06-03T09:05:00Z"
    assert made["secret_key"] not in response.content.decode()

    assert_error(client_api.post(revoke_url(target, made["id"])), 409, "invalid_transition")


def test_a_closed_target_takes_no_key(am_api, account_manager, target):
    targets_close(actor=account_manager, targets=[target], at=clock.now())

    body = assert_error(am_api.post(keys_url(target)), 409, "invalid_transition")
    assert target.target_comp_id in body["detail"]
    assert not KeyPair.objects.filter(target=target, is_probe=False).exists()


def test_closing_the_group_through_the_api_revokes_the_keys(client_api, target):
    made = create(client_api, target)

    response = client_api.post(f"/api/v1/groups/{target.group_id}/close/", {}, format="json")

    assert response.status_code == 200, response.content
    row = client_api.get(keys_url(target)).json()["results"][0]
    assert row["id"] == made["id"]
    assert row["revoked_at"] is not None
    assert not KeyPair.objects.filter(target=target, revoked_at__isnull=True).exists()


def test_a_key_of_another_target_is_not_found_under_this_one(am_api, target, client_user, client_entity, clearing_firm):
    other = target_of(
        client_user, factories.GroupFactory(entity=client_entity), admin_control_session(client_entity, clearing_firm)
    )
    made = create(am_api, other)

    assert_error(am_api.post(revoke_url(target, made["id"])), 404, "not_found")
    assert KeyPair.objects.get(pk=made["id"]).revoked_at is None


@pytest.mark.parametrize(
    "path", ["999999999/keys/", "abc/keys/", "{target}/keys/999999999/revoke/", "{target}/keys/x/revoke/"]
)
def test_unknown_or_malformed_ids_are_not_found(am_api, target, path):
    url = TARGETS + path.format(target=target.pk)
    response = am_api.post(url) if url.endswith("revoke/") else am_api.get(url)
    assert_error(response, 404, "not_found")


def test_anonymous_callers_are_not_authenticated(target):
    assert_error(APIClient().get(keys_url(target)), 401, "not_authenticated")
    assert_error(APIClient().post(keys_url(target)), 401, "not_authenticated")


# --- who may do what ------------------------------------------------------------------------


def test_an_account_manager_lists_creates_and_revokes(am_api, target):
    made = create(am_api, target)
    assert am_api.get(keys_url(target)).status_code == 200
    assert am_api.post(revoke_url(target, made["id"])).status_code == 200


def test_a_client_of_another_entity_gets_404(api_for, am_api, target):
    made = create(am_api, target)
    stranger = api_for(factories.UserFactory(role=Role.CLIENT))

    assert_error(stranger.get(keys_url(target)), 404, "not_found")
    assert_error(stranger.post(keys_url(target)), 404, "not_found")
    assert_error(stranger.post(revoke_url(target, made["id"])), 404, "not_found")


def test_a_client_whose_entity_may_not_self_serve_reads_but_does_not_write_cme_keys(
    api_for, am_api, account_manager, clearing_firm
):
    entity = factories.EntityFactory(self_service=False)
    client = api_for(factories.UserFactory(role=Role.CLIENT, entity=entity))
    target = target_of(
        account_manager, factories.GroupFactory(entity=entity), admin_control_session(entity, clearing_firm)
    )
    made = create(am_api, target)

    listed = client.get(keys_url(target))
    assert listed.status_code == 200 and listed.json()["count"] == 1
    assert_error(client.post(keys_url(target)), 403, "permission_denied")
    assert_error(client.post(revoke_url(target, made["id"])), 403, "permission_denied")
    assert KeyPair.objects.get(pk=made["id"]).revoked_at is None


def test_brokertec_keys_are_self_service_for_every_client(api_for, account_manager):
    entity = factories.EntityFactory(self_service=False)
    client = api_for(factories.UserFactory(role=Role.CLIENT, entity=entity))
    target = target_of(account_manager, brokertec_group(entity), brokertec_session(entity))

    made = create(client, target)
    assert client.post(revoke_url(target, made["id"])).status_code == 200


def test_the_client_reads_the_trail_of_its_keys_without_secrets(client_api, target):
    made = create(client_api, target)
    client_api.post(revoke_url(target, made["id"]))

    response = client_api.get("/api/v1/audit/", {"object_type": "keypair", "object_id": made["id"]})

    assert response.status_code == 200
    assert [row["action"] for row in response.json()["results"]] == ["revoke", "create"]
    assert made["secret_key"] not in response.content.decode()
    assert "secret_encrypted" not in response.content.decode()


def test_the_client_does_not_read_the_trail_of_the_probe_key(client_api, target):
    probe = KeyPair.objects.get(target=target, is_probe=True)
    assert AuditEvent.objects.filter(object_type="keypair", object_id=probe.pk).exists()

    response = client_api.get("/api/v1/audit/", {"object_type": "keypair", "object_id": probe.pk})

    assert response.json()["count"] == 0


def test_the_list_costs_the_same_whatever_its_length(am_api, target):
    create(am_api, target)
    with CaptureQueriesContext(connection) as one:
        assert am_api.get(keys_url(target)).status_code == 200
    for _ in range(5):
        create(am_api, target)
    with CaptureQueriesContext(connection) as many:
        assert am_api.get(keys_url(target)).json()["count"] == 6
    assert len(many) == len(one)
