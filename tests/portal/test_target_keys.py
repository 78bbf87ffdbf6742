"""Key pairs on a target's page: listed with who made and revoked them (never the secret),
generated after the identity step-up (the secret shown once, never cached), revoked after a
confirmation; another entity's key pairs are never revoked."""

import base64
import csv
import io
import re

import pytest
from django.urls import reverse

from dropcopy_admin.choices import GatewayType, TargetStatus
from dropcopy_admin.models import KeyPair
from dropcopy_admin.portal.step_up import IDENTITY_CONFIRMED_AT
from dropcopy_admin.services import keys
from dropcopy_admin.services.keys import KEY_FILE_HEADER
from tests import factories
from tests.portal.test_targets import build_target, detail_url

pytestmark = pytest.mark.django_db

PASSWORD = "s3cret-Pa55word"  # tests.factories.UserFactory's
IDENTITY_CONFIRMED = {"confirm_identity": "1", "password": PASSWORD}
DATA_URL = re.compile(r'href="data:text/csv;charset=utf-8;base64,([A-Za-z0-9+/=]+)"')


def generate_url(target):
    return reverse("portal:key-pair-generate", args=[target.pk])


def revoke_url(key_pair):
    return reverse("portal:key-pair-revoke", args=[key_pair.target_id, key_pair.pk])


class TestGenerate:
    def test_asks_who_you_are_first(self, client, client_user, client_entity):
        target = build_target(client_entity)
        client.force_login(client_user)
        response = client.post(generate_url(target))
        assert response.status_code == 200
        assert "Confirm it is you" in response.content.decode()
        assert f'href="{detail_url(target)}"' in response.content.decode()  # Cancel goes back to the target
        assert not KeyPair.objects.filter(target=target).exists()

    def test_a_wrong_password_is_refused(self, client, client_user, client_entity):
        target = build_target(client_entity)
        client.force_login(client_user)
        response = client.post(generate_url(target), {"confirm_identity": "1", "password": "wrong"})
        assert response.status_code == 400
        assert "That password is not right" in response.content.decode()
        assert not KeyPair.objects.filter(target=target).exists()
        assert IDENTITY_CONFIRMED_AT not in client.session

    def test_the_secret_is_shown_once_and_never_again(self, client, client_user, client_entity):
        target = build_target(client_entity, gateway_type=GatewayType.MSGW, segments=1)
        client.force_login(client_user)
        response = client.post(generate_url(target), IDENTITY_CONFIRMED)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        key_pair = KeyPair.objects.get(target=target, is_probe=False)
        page = response.content.decode()
        secret = response.context["secret_key"]
        assert page.count(secret) == 1
        assert f'href="{detail_url(target)}"' in page  # Done goes back to the target
        (encoded,) = DATA_URL.findall(page)
        rows = list(csv.reader(io.StringIO(base64.b64decode(encoded).decode())))
        assert rows[0] == KEY_FILE_HEADER
        assert rows[1][:3] == [target.target_comp_id, key_pair.access_key_id, secret]
        # Every later page: the Access Key ID, who created it, never the secret or the key file.
        for url in (
            detail_url(target),
            reverse("portal:targets"),
            reverse("portal:target-sheet-print", args=[target.pk]),
            reverse("portal:target-sheet-csv", args=[target.pk]),
        ):
            later = client.get(url).content.decode()
            assert secret not in later
            assert encoded not in later
        later = client.get(detail_url(target)).content.decode()
        assert key_pair.access_key_id in later
        assert "by client" in later

    def test_the_confirmation_lasts_a_few_minutes(self, client, client_user, client_entity):
        target = build_target(client_entity)
        client.force_login(client_user)
        client.post(generate_url(target), IDENTITY_CONFIRMED)
        response = client.post(generate_url(target))
        assert response.status_code == 200
        assert "secret_key" in response.context
        assert KeyPair.objects.filter(target=target, is_probe=False).count() == 2

    def test_a_closed_target_is_a_message_not_a_key(self, client, client_user, client_entity):
        target = build_target(client_entity, status=TargetStatus.CLOSED)
        client.force_login(client_user)
        response = client.post(generate_url(target), IDENTITY_CONFIRMED, follow=True)
        assert response.redirect_chain == [(detail_url(target), 302)]
        assert f"Target {target.target_comp_id} is closed; it takes no new key pair." in response.content.decode()
        assert not KeyPair.objects.filter(target=target).exists()

    def test_get_is_not_allowed(self, client, client_user, client_entity):
        client.force_login(client_user)
        assert client.get(generate_url(build_target(client_entity))).status_code == 405


class TestList:
    def test_live_and_past_key_pairs_with_who_made_and_revoked_them(self, client, client_user, client_entity):
        target = build_target(client_entity)
        old = keys.key_pair_create(actor=client_user, target=target).key_pair
        keys.key_pair_revoke(actor=client_user, key_pair=old)
        live = keys.key_pair_create(actor=client_user, target=target)
        client.force_login(client_user)
        page = client.get(detail_url(target)).content.decode()
        assert old.access_key_id in page and live.key_pair.access_key_id in page
        assert live.secret_key not in page
        assert page.count("Revoked</td>") == 1
        assert page.count('aria-label="Revoke key pair') == 1
        assert page.count("by client") == 3  # created twice, revoked once


class TestRevoke:
    def test_revokes_a_live_key_pair(self, client, client_user, client_entity):
        target = build_target(client_entity)
        key_pair = keys.key_pair_create(actor=client_user, target=target).key_pair
        client.force_login(client_user)
        page = client.get(detail_url(target)).content.decode()
        assert f'data-confirm="Revoke key pair {key_pair.access_key_id}' in page
        response = client.post(revoke_url(key_pair), follow=True)
        assert response.redirect_chain == [(detail_url(target), 302)]
        key_pair.refresh_from_db()
        assert key_pair.revoked_at is not None
        assert f"Key pair {key_pair.access_key_id} of {target.target_comp_id} revoked" in response.content.decode()

    def test_revoking_twice_is_explained(self, client, client_user, client_entity):
        target = build_target(client_entity)
        key_pair = keys.key_pair_create(actor=client_user, target=target).key_pair
        client.force_login(client_user)
        client.post(revoke_url(key_pair))
        response = client.post(revoke_url(key_pair), follow=True)
        assert f"Key pair {key_pair.access_key_id} is already revoked." in response.content.decode()

    def test_another_entitys_key_pair_is_404_and_stays_live(self, client, client_user, client_entity, account_manager):
        mine = build_target(client_entity)
        theirs = build_target(factories.EntityFactory(code="BETA", self_service=True))
        their_key = keys.key_pair_create(actor=account_manager, target=theirs).key_pair
        client.force_login(client_user)
        assert client.post(revoke_url(their_key)).status_code == 404
        # Nor through one's own target's URL.
        url = reverse("portal:key-pair-revoke", args=[mine.pk, their_key.pk])
        assert client.post(url).status_code == 404
        their_key.refresh_from_db()
        assert their_key.revoked_at is None

    def test_the_probe_key_pair_is_never_listed_or_revoked(self, client, client_user, client_entity, account_manager):
        target = build_target(client_entity)
        probe = keys.probe_key_pair_ensure(actor=account_manager, target_id=target.pk)
        client.force_login(client_user)
        assert probe.access_key_id not in client.get(detail_url(target)).content.decode()
        assert client.post(revoke_url(probe)).status_code == 404
