"""My Requests: a client's memberships, certifications and test targets; filters, sorting, exports,
the To Do list, isolation from another entity, and a constant number of queries."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dropcopy_admin import clock
from dropcopy_admin.choices import CertificationStatus, MembershipStatus, Role, TargetStatus, TemporaryKind
from dropcopy_admin.models import KeyPair
from entitlements.models import Certification
from tests import factories

from .helpers import NOW, csv_rows, membership, target, xlsx_rows

URL = reverse("portal:requests")


@pytest.fixture(autouse=True)
def _frozen_clock():
    clock.freeze(NOW)


@pytest.fixture
def firm(db):
    return factories.ClearingFirmFactory(name="Guarantor Clearing")


@pytest.fixture
def other_entity(db):
    return factories.EntityFactory(code="OTHER", name="Other Trading")


@pytest.fixture
def other_user(other_entity):
    return factories.UserFactory(role=Role.CLIENT, entity=other_entity, username="other")


@pytest.fixture
def logged_in(client, client_user):
    client.force_login(client_user)
    return client


def sender_ids(response) -> list[str]:
    return [row[0] for row in response.context["table"].page_rows()]


class TestAccess:
    @pytest.mark.parametrize("role", [Role.CLEARING_FIRM, Role.FINANCE])
    def test_only_client_administrators_open_it(self, client, db, role):
        client.force_login(factories.UserFactory(role=role))
        assert client.get(URL).status_code == 403

    def test_anonymous_is_sent_to_log_in(self, client, db):
        assert client.get(URL).status_code == 302


class TestMemberships:
    def test_lists_the_entitys_requests_with_who_decides(
        self, logged_in, client_entity, client_user, firm, other_entity, other_user
    ):
        mine = membership(entity=client_entity, firm=firm, requester=client_user)
        auto = membership(
            entity=client_entity,
            firm=firm,
            requester=client_user,
            status=MembershipStatus.APPROVED,
            auto_approved=True,
            reason="Your entity's own GFID",
        )
        theirs = membership(entity=other_entity, firm=firm, requester=other_user)
        response = logged_in.get(URL)
        assert response.status_code == 200
        body = response.content.decode()
        assert mine.source_session.sender_comp_id in body
        assert auto.source_session.sender_comp_id in body
        assert theirs.source_session.sender_comp_id not in body
        assert "Guarantor Clearing" in body
        assert "Approved automatically: Your entity&#x27;s own GFID" in body

    def test_filters_per_column_and_sorts(self, logged_in, client_entity, client_user, firm):
        pending = membership(entity=client_entity, firm=firm, requester=client_user, days_old=1)
        rejected = membership(
            entity=client_entity, firm=firm, requester=client_user, status=MembershipStatus.REJECTED, days_old=3
        )
        assert sender_ids(logged_in.get(URL, {"status": "rejected"})) == [rejected.source_session.sender_comp_id]
        assert sender_ids(
            logged_in.get(URL, {"sender_comp_id": pending.source_session.sender_comp_id[:5].lower()})
        ) == [pending.source_session.sender_comp_id]
        oldest_first = sender_ids(logged_in.get(URL, {"sort": "requested_at"}))
        assert oldest_first == [rejected.source_session.sender_comp_id, pending.source_session.sender_comp_id]
        newest_first = logged_in.get(URL, {"sort": "-requested_at"})
        assert sender_ids(newest_first) == oldest_first[::-1]
        assert 'aria-sort="descending"' in newest_first.content.decode()
        day = (NOW - dt.timedelta(days=3)).date().isoformat()
        assert sender_ids(logged_in.get(URL, {"requested_at_from": day, "requested_at_to": day})) == [
            rejected.source_session.sender_comp_id
        ]

    @pytest.mark.parametrize(
        ("params", "field", "message"),
        [
            ({"status": "lost"}, "status", "Choose one of the listed values."),
            ({"requested_at_from": "yesterday"}, "requested_at_from", "Enter a date as YYYY-MM-DD."),
            (
                {"requested_at_from": "2026-12-05", "requested_at_to": "2026-12-01"},
                "requested_at_to",
                "before the start",
            ),
            ({"sort": "password"}, "sort", "cannot be sorted"),
            ({"page": "x"}, None, None),
        ],
    )
    def test_a_bad_filter_value_is_an_error_beside_its_field(
        self, logged_in, client_entity, client_user, firm, params, field, message
    ):
        mine = membership(entity=client_entity, firm=firm, requester=client_user)
        response = logged_in.get(URL, params)
        assert response.status_code == 200
        assert mine.source_session.sender_comp_id in response.content.decode()
        if field:
            assert message in " ".join(response.context["table"].form.errors[field])
            assert message in response.content.decode()
            export = logged_in.get(URL, {**params, "export": "csv"})
            assert export.status_code == 400

    def test_exports_csv_and_xlsx_of_the_filtered_rows_only(
        self, logged_in, client_entity, client_user, firm, other_entity, other_user
    ):
        rejected = membership(
            entity=client_entity,
            firm=firm,
            requester=client_user,
            status=MembershipStatus.REJECTED,
            reason='=HYPERLINK("x")',
        )
        membership(entity=client_entity, firm=firm, requester=client_user)
        membership(entity=other_entity, firm=firm, requester=other_user, status=MembershipStatus.REJECTED)
        rows = csv_rows(logged_in.get(URL, {"status": "rejected", "export": "csv"}))
        assert rows[0][:3] == ["SenderCompID", "Group", "Status"]
        assert [row[0] for row in rows[1:]] == [rejected.source_session.sender_comp_id]
        assert rows[1][-1] == '\'=HYPERLINK("x")'
        response = logged_in.get(URL, {"status": "rejected", "export": "xlsx"})
        assert response["Content-Disposition"].startswith("attachment")
        sheet = xlsx_rows(response)
        assert [row[0] for row in sheet[1:]] == [rejected.source_session.sender_comp_id]

    def test_htmx_gets_the_table_alone(self, logged_in, client_entity, client_user, firm):
        membership(entity=client_entity, firm=firm, requester=client_user)
        response = logged_in.get(URL, {"status": "pending"}, headers={"HX-Request": "true"})
        body = response.content.decode()
        assert 'id="requests-memberships-table"' in body
        assert "<h1>" not in body
        assert "HX-Request" in response["Vary"]
        restored = logged_in.get(URL, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
        assert "<h1>My requests</h1>" in restored.content.decode()

    def test_a_constant_number_of_queries(self, logged_in, client_entity, client_user, firm):
        membership(entity=client_entity, firm=firm, requester=client_user)
        with CaptureQueriesContext(connection) as one:
            assert logged_in.get(URL).status_code == 200
        for _ in range(30):
            membership(entity=client_entity, firm=firm, requester=client_user, status=MembershipStatus.APPROVED)
        with CaptureQueriesContext(connection) as many:
            assert logged_in.get(URL).status_code == 200
        assert len(many) == len(one)


class TestOtherKinds:
    def test_certifications_and_test_targets_tabs(self, logged_in, client_entity, other_entity):
        system = factories.FrontEndSystemFactory(entity=client_entity, name="AlphaDesk")
        factories.passed_certification(system, entity=client_entity)
        theirs = factories.FrontEndSystemFactory(entity=other_entity, name="OtherDesk")
        factories.passed_certification(theirs, entity=other_entity)
        test_target = target(entity=client_entity, temporary=TemporaryKind.NEW_RELEASE)
        their_target = target(entity=other_entity, temporary=TemporaryKind.NEW_RELEASE)
        body = logged_in.get(URL, {"kind": "certifications"}).content.decode()
        assert "AlphaDesk" in body and "OtherDesk" not in body
        body = logged_in.get(URL, {"kind": "test-targets"}).content.decode()
        assert test_target.target_comp_id in body and their_target.target_comp_id not in body
        rows = csv_rows(logged_in.get(URL, {"kind": "test-targets", "export": "csv"}))
        assert [row[0] for row in rows[1:]] == [test_target.target_comp_id]
        rows = csv_rows(logged_in.get(URL, {"kind": "certifications", "status": "passed", "export": "csv"}))
        assert [row[0] for row in rows[1:]] == ["AlphaDesk 1.0"]


class TestToDo:
    def test_nothing_waits(self, logged_in):
        body = logged_in.get(URL).content.decode()
        assert "Nothing waits on you." in body
        assert "Your entity has not requested any membership yet" in body
        assert f'<a href="{reverse("portal:groups")}">Open your groups</a>' in body
        body = logged_in.get(URL, {"kind": "certifications"}).content.decode()
        assert f'<a href="{reverse("portal:certifications")}">Request a certification</a>' in body

    def test_lists_what_waits_with_links(self, logged_in, client_entity, client_user, firm, other_entity, other_user):
        system = factories.FrontEndSystemFactory(entity=client_entity, name="AlphaDesk")
        cert_target = target(
            entity=client_entity, temporary=TemporaryKind.AUTOCERT, ready_at=NOW, expires_at=NOW + dt.timedelta(days=5)
        )
        Certification.objects.create(
            entity=client_entity,
            front_end_system=system,
            venue=factories.venue("CME"),
            gateway_type="MSGW",
            status=CertificationStatus.REQUESTED,
            target=cert_target,
            requested_at=NOW,
            requested_by=client_user,
        )
        expiring = target(
            entity=client_entity, temporary=TemporaryKind.NEW_RELEASE, expires_at=NOW + dt.timedelta(days=2)
        )
        keyless = target(entity=client_entity)
        expiring_key = target(entity=client_entity)
        KeyPair.objects.create(
            target=expiring_key,
            access_key_id="A" * 20,
            secret_encrypted="x",
            created_at=NOW,
            expires_at=NOW + dt.timedelta(days=10),
        )
        lasting = target(entity=client_entity)
        KeyPair.objects.create(
            target=lasting,
            access_key_id="B" * 20,
            secret_encrypted="x",
            created_at=NOW,
            expires_at=NOW + dt.timedelta(days=300),
        )
        target(entity=client_entity, status=TargetStatus.CLOSED)
        target(entity=other_entity)
        rejected = membership(entity=client_entity, firm=firm, requester=client_user, status=MembershipStatus.REJECTED)
        membership(
            entity=client_entity, firm=firm, requester=client_user, status=MembershipStatus.REJECTED, days_old=60
        )
        membership(entity=other_entity, firm=firm, requester=other_user, status=MembershipStatus.REJECTED)
        response = logged_in.get(URL)
        items = response.context["to_do"]
        assert [item.kind for item in items] == [
            "certification",
            "test-target",
            "key-pair",
            "key-pair",
            "request-again",
        ]
        body = response.content.decode()
        assert cert_target.target_comp_id in body
        assert f"Test target {expiring.target_comp_id}" in body
        assert f"Target {keyless.target_comp_id} (CME" in body and "has no live key pair" in body
        assert f"key pair of target {expiring_key.target_comp_id}" in body
        assert lasting.target_comp_id not in body.split('id="to-do-heading"')[1].split("</section>")[0]
        assert rejected.source_session.sender_comp_id in body
        assert reverse("portal:temporary-targets") in body
        assert reverse("portal:targets") in body
        assert reverse("portal:certifications") in body
