"""The portal's temporary-target pages through Django's test client: certifications (R9) and New
Release test targets (R10) for clients, key pairs shown once (R11), and the account managers' list
with renew and rescind — who gets in, what the forms create, errors as messages, query counts."""

import base64
import csv
import datetime as dt
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dropcopy_admin import clock
from dropcopy_admin.choices import (
    CertificationCheckName,
    CertificationStatus,
    Environment,
    GatewayType,
    Role,
    TargetStatus,
    TemporaryKind,
)
from dropcopy_admin.models import KeyPair, TargetSession
from dropcopy_admin.services.audit import SystemActor
from dropcopy_admin.services.keys import KEY_FILE_HEADER
from entitlements.models import Certification
from entitlements.services import temporary_targets
from tests import factories

CERTIFICATIONS = reverse("portal:certifications")
TEST_TARGETS = reverse("portal:test-targets")
TEMPORARY_TARGETS = reverse("portal:temporary-targets")
NOW = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
SYSTEM = SystemActor("portal_tests")
# The step-up's answer: the password again (the user has no authenticator app).
IDENTITY_CONFIRMED = {"confirm_identity": "1", "password": "s3cret-Pa55word"}  # tests.factories.UserFactory's
DATA_URL = re.compile(r'href="data:text/csv;charset=utf-8;base64,([A-Za-z0-9+/=]+)"')


def key_pair_url(target) -> str:
    return reverse("portal:key-pair-generate", args=[target.pk])


def renew_url(target) -> str:
    return reverse("portal:temporary-renew", args=[target.pk])


def rescind_url(target) -> str:
    return reverse("portal:temporary-rescind", args=[target.pk])


@pytest.fixture(autouse=True)
def _frozen_clock():
    clock.freeze(NOW)


def new_test_target(entity, *, actor=None, venue="CME", gateway_type=GatewayType.CGW, **kwargs) -> TargetSession:
    """A New Release test target of ``entity``, requested through the service."""
    return temporary_targets.new_release_target_request(
        actor=actor or SYSTEM,
        entity=entity,
        venue=factories.venue(venue),
        gateway_type=gateway_type,
        **kwargs,
    )


def certification(entity, *, system=None, venue="CME", gateway_type=GatewayType.CGW) -> Certification:
    return temporary_targets.certification_request(
        actor=SYSTEM,
        entity=entity,
        front_end_system=system or factories.FrontEndSystemFactory(entity=entity),
        venue=factories.venue(venue),
        gateway_type=gateway_type,
    )


def message_texts(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


class TestAccess:
    @pytest.mark.parametrize("url", [CERTIFICATIONS, TEST_TARGETS, TEMPORARY_TARGETS])
    def test_anonymous_user_is_sent_to_the_login_page(self, client, db, url):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={url}"

    @pytest.mark.parametrize("url", [CERTIFICATIONS, TEST_TARGETS])
    @pytest.mark.parametrize("role", [Role.ACCOUNT_MANAGER, Role.CLEARING_FIRM, Role.FINANCE])
    def test_client_pages_refuse_other_roles(self, client, db, url, role):
        client.force_login(factories.UserFactory(role=role))
        assert client.get(url).status_code == 403
        assert client.post(url, {}).status_code == 403

    @pytest.mark.parametrize("role", [Role.CLIENT, Role.CLEARING_FIRM, Role.FINANCE])
    def test_account_managers_page_refuses_other_roles(self, client, db, role):
        client.force_login(factories.UserFactory(role=role))
        assert client.get(TEMPORARY_TARGETS).status_code == 403

    def test_client_may_neither_renew_nor_rescind(self, client, client_user, client_entity):
        target = new_test_target(client_entity)
        client.force_login(client_user)
        assert client.post(renew_url(target)).status_code == 403
        assert client.post(rescind_url(target)).status_code == 403
        target.refresh_from_db()
        assert target.status != TargetStatus.CLOSED

    def test_account_manager_may_not_generate_a_clients_key_here(self, client, account_manager, client_entity):
        target = new_test_target(client_entity)
        client.force_login(account_manager)
        assert client.post(key_pair_url(target)).status_code == 403
        assert not KeyPair.objects.filter(target=target, is_probe=False).exists()

    def test_actions_answer_only_post(self, client, client_user, account_manager, client_entity):
        target = new_test_target(client_entity)
        client.force_login(client_user)
        assert client.get(key_pair_url(target)).status_code == 405
        client.force_login(account_manager)
        assert client.get(renew_url(target)).status_code == 405
        assert client.get(rescind_url(target)).status_code == 405

    def test_nav_links_follow_the_role(self, client, client_user, account_manager):
        client.force_login(client_user)
        # A client's home is My Requests.
        page = client.get(reverse("portal:home"), follow=True).content.decode()
        assert f'href="{CERTIFICATIONS}"' in page
        assert f'href="{TEST_TARGETS}"' in page
        assert f'href="{TEMPORARY_TARGETS}"' not in page
        client.force_login(account_manager)
        page = client.get(reverse("portal:home")).content.decode()
        assert f'href="{TEMPORARY_TARGETS}"' in page
        assert f'href="{CERTIFICATIONS}"' not in page


class TestCertificationsPage:
    def test_shows_only_the_entitys_certifications_with_target_and_checklist(self, client, client_user, client_entity):
        own = certification(client_entity)
        other = certification(factories.EntityFactory())
        client.force_login(client_user)
        response = client.get(CERTIFICATIONS)
        assert response.status_code == 200
        page = response.content.decode()
        assert f'data-certification-id="{own.pk}"' in page
        assert f'data-certification-id="{other.pk}"' not in page
        assert other.target.target_comp_id not in page
        target = own.target
        assert target.target_comp_id in page
        for address in target.addresses.all():
            assert f"{address.ip}:{address.port}" in page
        assert "<code>G</code>" in page  # the CGW TargetSubID
        assert page.count('data-testid="check"') == 5
        for _name, label in CertificationCheckName.choices:
            assert str(label) in page
        assert "Not shown yet" in page

    def test_a_passed_check_shows_when(self, client, client_user, client_entity):
        own = certification(client_entity)
        own.checks.filter(name=CertificationCheckName.SIGNED_LOGON).update(passed_at=NOW)
        client.force_login(client_user)
        page = client.get(CERTIFICATIONS).content.decode()
        assert f"{NOW:%Y-%m-%d %H:%M} UTC" in page
        assert page.count("Not shown yet") == 4

    def test_requests_a_certification_of_the_entitys_system(self, client, client_user, client_entity):
        system = factories.FrontEndSystemFactory(entity=client_entity)
        client.force_login(client_user)
        response = client.post(
            CERTIFICATIONS, {"front_end_system": system.pk, "venue": "CME", "gateway_type": "CGW"}, follow=True
        )
        assert response.redirect_chain == [(CERTIFICATIONS, 302)]
        created = Certification.objects.get()
        assert (created.entity, created.front_end_system, created.venue_id) == (client_entity, system, "CME")
        assert created.status == CertificationStatus.REQUESTED
        assert created.requested_by == client_user
        assert created.target.temporary == TemporaryKind.AUTOCERT
        assert created.target.environment == Environment.CERT
        assert created.target.entity == client_entity
        assert message_texts(response)[0].startswith(f"Certification requested for {system.name}")
        assert created.target.target_comp_id in response.content.decode()

    def test_a_vendor_product_may_be_certified(self, client, client_user, client_entity):
        vendor_product = factories.FrontEndSystemFactory(entity=None, name="VendorFix")
        client.force_login(client_user)
        assert "VendorFix" in client.get(CERTIFICATIONS).content.decode()
        response = client.post(
            CERTIFICATIONS, {"front_end_system": vendor_product.pk, "venue": "EBS", "gateway_type": "MSGW"}
        )
        assert response.status_code == 302
        assert Certification.objects.get().front_end_system == vendor_product

    def test_another_entitys_system_is_not_a_choice(self, client, client_user):
        foreign = factories.FrontEndSystemFactory(entity=factories.EntityFactory())
        client.force_login(client_user)
        response = client.post(CERTIFICATIONS, {"front_end_system": foreign.pk, "venue": "CME", "gateway_type": "CGW"})
        assert response.status_code == 400
        assert "Select a valid choice" in response.content.decode()
        assert not Certification.objects.exists()

    @pytest.mark.parametrize(
        "data",
        [{}, {"front_end_system": "x", "venue": "NASDAQ", "gateway_type": "FIX"}, {"venue": "CME\x00"}],
    )
    def test_bad_input_shows_the_errors(self, client, client_user, data):
        client.force_login(client_user)
        response = client.post(CERTIFICATIONS, data)
        assert response.status_code == 400
        assert 'class="errorlist' in response.content.decode()
        assert not Certification.objects.exists()

    def test_a_gateway_type_the_venue_does_not_offer_is_a_message(self, client, client_user, client_entity):
        system = factories.FrontEndSystemFactory(entity=client_entity)
        client.force_login(client_user)
        response = client.post(
            CERTIFICATIONS, {"front_end_system": system.pk, "venue": "BROKERTEC", "gateway_type": "CGW"}
        )
        assert response.status_code == 400
        assert message_texts(response) == ["BROKERTEC does not offer CGW sessions."]
        assert not Certification.objects.exists()

    def test_a_second_open_request_is_refused(self, client, client_user, client_entity):
        system = factories.FrontEndSystemFactory(entity=client_entity)
        certification(client_entity, system=system)
        client.force_login(client_user)
        response = client.post(CERTIFICATIONS, {"front_end_system": system.pk, "venue": "CME", "gateway_type": "CGW"})
        assert response.status_code == 409
        assert message_texts(response)[0].endswith("already has a requested certification for CME CGW.")
        assert Certification.objects.count() == 1

    def test_an_entity_without_self_service_is_told_so(self, client, client_user, client_entity):
        client_entity.self_service = False
        client_entity.save()
        system = factories.FrontEndSystemFactory(entity=client_entity)
        client.force_login(client_user)
        response = client.post(CERTIFICATIONS, {"front_end_system": system.pk, "venue": "CME", "gateway_type": "CGW"})
        assert response.status_code == 403
        assert message_texts(response)[0].startswith("Entity ACME is not authorised")
        assert not Certification.objects.exists()


class TestTestTargetsPage:
    def test_shows_only_the_entitys_new_release_targets(self, client, client_user, client_entity):
        own = new_test_target(client_entity, gateway_type=GatewayType.MSGW)
        other = new_test_target(factories.EntityFactory())
        own_autocert = certification(client_entity).target
        client.force_login(client_user)
        page = client.get(TEST_TARGETS).content.decode()
        assert own.target_comp_id in page
        assert other.target_comp_id not in page
        assert own_autocert.target_comp_id not in page
        for address in own.addresses.all():
            assert f"{address.ip}:{address.port}" in page
            assert f"TargetSubID <code>{address.target_sub_id}</code>" in page
        assert f"{own.ready_at:%Y-%m-%d %H:%M} UTC" in page
        assert f"{own.expires_at:%Y-%m-%d %H:%M} UTC" in page

    def test_requests_a_new_test_target(self, client, client_user, client_entity):
        client.force_login(client_user)
        response = client.post(TEST_TARGETS, {"venue": "CME", "gateway_type": "CGW"}, follow=True)
        assert response.redirect_chain == [(TEST_TARGETS, 302)]
        target = TargetSession.objects.get(temporary=TemporaryKind.NEW_RELEASE)
        assert (target.entity, target.venue_id, target.gateway_type) == (client_entity, "CME", "CGW")
        assert target.environment == Environment.NEW_RELEASE
        assert target.ready_at == NOW + dt.timedelta(hours=48)
        assert target.expires_at == target.ready_at + dt.timedelta(days=7)
        assert message_texts(response) == [f"New Release test target {target.target_comp_id} requested on CME CGW."]

    def test_a_later_requested_start_is_read_as_utc(self, client, client_user):
        start = NOW + dt.timedelta(days=5, hours=3)
        client.force_login(client_user)
        response = client.post(
            TEST_TARGETS, {"venue": "EBS", "gateway_type": "MSGW", "requested_start": f"{start:%Y-%m-%dT%H:%M}"}
        )
        assert response.status_code == 302
        target = TargetSession.objects.get(temporary=TemporaryKind.NEW_RELEASE)
        assert target.ready_at == start
        assert target.expires_at == start + dt.timedelta(days=7)

    def test_a_past_requested_start_is_a_message(self, client, client_user):
        client.force_login(client_user)
        past = NOW - dt.timedelta(days=1)
        response = client.post(
            TEST_TARGETS, {"venue": "CME", "gateway_type": "CGW", "requested_start": f"{past:%Y-%m-%dT%H:%M}"}
        )
        assert response.status_code == 400
        assert message_texts(response) == ["The requested start must not be in the past."]
        assert not TargetSession.objects.exists()

    @pytest.mark.parametrize(
        "data",
        [
            {},
            {"venue": "NASDAQ", "gateway_type": "CGW"},
            {"venue": "CME", "gateway_type": "ILINK"},
            {"venue": "CME", "gateway_type": "CGW", "requested_start": "next tuesday"},
            {"venue": "CME", "gateway_type": "CGW", "requested_start": "2026-13-45T99:99"},
        ],
    )
    def test_bad_input_shows_the_errors(self, client, client_user, data):
        client.force_login(client_user)
        response = client.post(TEST_TARGETS, data)
        assert response.status_code == 400
        assert 'class="errorlist' in response.content.decode()
        assert not TargetSession.objects.exists()


class TestKeyPairs:
    def test_the_secret_is_shown_once_with_its_key_file_and_never_cached(self, client, client_user, client_entity):
        target = new_test_target(client_entity)
        client.force_login(client_user)
        response = client.post(key_pair_url(target), IDENTITY_CONFIRMED)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        key_pair = KeyPair.objects.get(target=target, is_probe=False)
        page = response.content.decode()
        secret = response.context["secret_key"]
        assert len(secret) == 43
        assert page.count(secret) == 1
        assert key_pair.access_key_id in page
        assert "only time the Secret Key is shown" in page
        # The key file rides in the same answer, as a data: URL.
        (encoded,) = DATA_URL.findall(page)
        rows = list(csv.reader(io.StringIO(base64.b64decode(encoded).decode())))
        assert rows[0] == KEY_FILE_HEADER
        assert rows[1][:3] == [target.target_comp_id, key_pair.access_key_id, secret]
        assert rows[1][5] == Environment.NEW_RELEASE
        assert f'download="{target.target_comp_id}-{key_pair.access_key_id}.csv"' in page
        # Stored encrypted; gone from every later page, which shows the Access Key ID only.
        assert secret not in key_pair.secret_encrypted
        later = client.get(TEST_TARGETS).content.decode()
        assert secret not in later
        assert encoded not in later
        assert key_pair.access_key_id in later

    def test_a_certifications_target_takes_a_key_too(self, client, client_user, client_entity):
        target = certification(client_entity).target
        client.force_login(client_user)
        response = client.post(key_pair_url(target), IDENTITY_CONFIRMED)
        assert response.status_code == 200
        secret = response.context["secret_key"]
        assert f'href="{CERTIFICATIONS}"' in response.content.decode()
        later = client.get(CERTIFICATIONS).content.decode()
        assert secret not in later
        assert KeyPair.objects.get(target=target, is_probe=False).access_key_id in later

    def test_another_entitys_target_is_not_found(self, client, client_user):
        foreign = new_test_target(factories.EntityFactory())
        client.force_login(client_user)
        assert client.post(key_pair_url(foreign)).status_code == 404
        assert client.post(reverse("portal:key-pair-generate", args=[999_999])).status_code == 404
        assert not KeyPair.objects.filter(is_probe=False).exists()

    def test_a_closed_target_is_a_message_not_a_key(self, client, client_user, client_entity, account_manager):
        target = new_test_target(client_entity)
        temporary_targets.temporary_target_rescind(actor=account_manager, target=target)
        client.force_login(client_user)
        response = client.post(key_pair_url(target), IDENTITY_CONFIRMED, follow=True)
        assert response.redirect_chain == [(TEST_TARGETS, 302)]
        assert message_texts(response) == [f"Target {target.target_comp_id} is closed; it takes no new key pair."]
        assert not KeyPair.objects.filter(target=target, is_probe=False).exists()


class TestTemporaryTargetsPage:
    def test_lists_every_live_temporary_target(self, client, account_manager, client_entity):
        beta = factories.EntityFactory(code="BETA", name="Beta Capital")
        test_one = new_test_target(client_entity)
        autocert = certification(beta, venue="EBS", gateway_type=GatewayType.MSGW).target
        closed = new_test_target(beta)
        temporary_targets.temporary_target_rescind(actor=account_manager, target=closed)
        client.force_login(account_manager)
        response = client.get(TEMPORARY_TARGETS)
        assert response.status_code == 200
        page = response.content.decode()
        assert [target.pk for target in response.context["targets"]] == [test_one.pk, autocert.pk]
        assert closed.target_comp_id not in page
        assert "Beta Capital" in page and "Acme Trading" in page
        assert page.count('aria-label="Renew ') == 1
        assert page.count('aria-label="Rescind ') == 2

    def test_renews_a_new_release_target(self, client, account_manager, client_entity):
        target = new_test_target(client_entity)
        expires_at = target.expires_at
        client.force_login(account_manager)
        response = client.post(renew_url(target), follow=True)
        assert response.redirect_chain == [(TEMPORARY_TARGETS, 302)]
        target.refresh_from_db()
        assert target.expires_at == expires_at + dt.timedelta(days=7)
        assert message_texts(response) == [
            f"Renewed {target.target_comp_id}: it now expires {target.expires_at:%Y-%m-%d %H:%M} UTC."
        ]

    def test_an_autocert_target_is_not_renewed(self, client, account_manager, client_entity):
        target = certification(client_entity).target
        expires_at = target.expires_at
        client.force_login(account_manager)
        response = client.post(renew_url(target), follow=True)
        assert message_texts(response) == ["Only New Release test targets are renewed."]
        target.refresh_from_db()
        assert target.expires_at == expires_at

    def test_an_expired_target_is_not_renewed(self, client, account_manager, client_entity):
        target = new_test_target(client_entity)
        clock.freeze(target.expires_at + dt.timedelta(minutes=1))
        client.force_login(account_manager)
        response = client.post(renew_url(target), follow=True)
        assert message_texts(response) == [
            f"Target {target.target_comp_id} expired at {target.expires_at:%Y-%m-%dT%H:%M:%SZ}."
        ]

    def test_rescinds_a_temporary_target(self, client, account_manager, client_entity):
        target = certification(client_entity).target
        client.force_login(account_manager)
        response = client.post(rescind_url(target), follow=True)
        target.refresh_from_db()
        assert target.status == TargetStatus.CLOSED
        assert message_texts(response) == [
            f"Rescinded {target.target_comp_id}: closed, its keys revoked and its port freed."
        ]
        assert target.target_comp_id not in response.content.decode().split("<table>")[1]

    def test_rescinding_twice_is_a_message(self, client, account_manager, client_entity):
        target = new_test_target(client_entity)
        client.force_login(account_manager)
        client.post(rescind_url(target), follow=True)
        response = client.post(rescind_url(target), follow=True)
        assert message_texts(response) == [f"Target {target.target_comp_id} is already closed."]

    def test_an_unknown_target_is_not_found(self, client, account_manager):
        client.force_login(account_manager)
        assert client.post(reverse("portal:temporary-rescind", args=[999_999])).status_code == 404
        assert client.post(reverse("portal:temporary-renew", args=[999_999])).status_code == 404


class TestQueryCounts:
    @staticmethod
    def count(client, url) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    def test_certifications_page(self, client, client_user, client_entity):
        client.force_login(client_user)
        certification(client_entity)
        one = self.count(client, CERTIFICATIONS)
        for _ in range(9):
            certification(client_entity)
        assert Certification.objects.count() == 10
        assert self.count(client, CERTIFICATIONS) == one

    def test_test_targets_page(self, client, client_user, client_entity):
        client.force_login(client_user)
        client.post(key_pair_url(new_test_target(client_entity)))
        one = self.count(client, TEST_TARGETS)
        for _ in range(9):
            client.post(key_pair_url(new_test_target(client_entity, gateway_type=GatewayType.MSGW)))
        assert self.count(client, TEST_TARGETS) == one

    def test_temporary_targets_page(self, client, account_manager, client_entity):
        client.force_login(account_manager)
        new_test_target(client_entity)
        one = self.count(client, TEMPORARY_TARGETS)
        for index in range(9):
            if index % 2:
                new_test_target(factories.EntityFactory(), gateway_type=GatewayType.MSGW)
            else:
                certification(factories.EntityFactory())
        assert self.count(client, TEMPORARY_TARGETS) == one
