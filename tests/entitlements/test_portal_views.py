"""The portal pages through Django's test client: who gets in, what the queue shows, decisions,
the CSV export and the number of queries."""

import csv
import datetime as dt
import io

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dropcopy_admin import clock
from dropcopy_admin.choices import MembershipStatus, Role
from tests import factories

QUEUE = reverse("portal:approval-queue")
DECIDE = reverse("portal:approval-decide")
EXPORT = reverse("portal:approval-export")
NOW = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)


@pytest.fixture(autouse=True)
def _frozen_clock():
    clock.freeze(NOW)


@pytest.fixture
def requester(client_entity):
    return factories.UserFactory(role=Role.CLIENT, entity=client_entity, username="requester")


def pending_request(*, firm, entity, requester, group=None, days_old=1, venue="CME", sender_prefix=None):
    """A pending request for a new session of ``entity`` guaranteed by ``firm``."""
    gfid = factories.GfidFactory(entity=entity, clearing_firm=firm, venue=factories.venue(venue))
    extra = {"session_id": sender_prefix} if sender_prefix else {}
    session = factories.SourceSessionFactory(gfid=gfid, **extra)
    group = group or factories.GroupFactory(entity=entity, venue=factories.venue(venue))
    return factories.MembershipFactory(
        group=group, source_session=session, requested_by=requester, requested_at=NOW - dt.timedelta(days=days_old)
    )


def message_texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def parse_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


class TestAccess:
    def test_anonymous_user_is_sent_to_the_login_page(self, client, db):
        response = client.get(QUEUE)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={QUEUE}"

    @pytest.mark.parametrize("url", [QUEUE, EXPORT])
    @pytest.mark.parametrize("role", [Role.CLIENT, Role.ACCOUNT_MANAGER, Role.FINANCE])
    def test_other_roles_are_refused_the_queue_and_its_export(self, client, db, url, role):
        client.force_login(factories.UserFactory(role=role))
        assert client.get(url).status_code == 403

    def test_client_cannot_decide(self, client, client_user, clearing_firm, client_entity, requester):
        membership = pending_request(firm=clearing_firm, entity=client_entity, requester=requester)
        client.force_login(client_user)
        response = client.post(DECIDE, {"memberships": [membership.pk], "decision": "approve"})
        assert response.status_code == 403
        membership.refresh_from_db()
        assert membership.status == MembershipStatus.PENDING

    def test_decide_answers_only_post(self, client, clearing_user):
        client.force_login(clearing_user)
        assert client.get(DECIDE).status_code == 405

    def test_login_page_logs_in_and_opens_the_portal(self, client, clearing_user):
        assert client.get("/accounts/login/").status_code == 200
        response = client.post("/accounts/login/", {"username": "clearing", "password": "s3cret-Pa55word"})
        assert response.status_code == 302
        assert response["Location"] == "/portal/"

    def test_portal_home_sends_a_clearing_firm_user_to_the_queue(self, client, clearing_user):
        client.force_login(clearing_user)
        response = client.get("/portal/")
        assert response.status_code == 302
        assert response["Location"] == QUEUE

    def test_portal_home_sends_a_client_to_my_requests(self, client, client_user):
        client.force_login(client_user)
        response = client.get("/portal/")
        assert response.status_code == 302
        assert response["Location"] == "/portal/requests/"
        page = client.get("/portal/requests/").content.decode()
        assert "Client administrator, Acme Trading (ACME)" in page

    def test_portal_home_shows_staff_a_short_page(self, client, finance_user):
        client.force_login(finance_user)
        response = client.get("/portal/")
        assert response.status_code == 200
        assert "Exchange staff work in the" in response.content.decode()

    def test_logout_is_a_post_back_to_the_login_page(self, client, clearing_user):
        client.force_login(clearing_user)
        response = client.post("/accounts/logout/", {"next": "/accounts/login/"})
        assert response["Location"] == "/accounts/login/"
        assert client.get(QUEUE).status_code == 302


class TestQueue:
    def test_lists_only_the_firms_pending_requests(
        self, client, clearing_user, clearing_firm, client_entity, requester
    ):
        mine = pending_request(firm=clearing_firm, entity=client_entity, requester=requester)
        decided = pending_request(firm=clearing_firm, entity=client_entity, requester=requester)
        decided.status = MembershipStatus.REJECTED
        decided.save()
        other_firm = pending_request(firm=factories.ClearingFirmFactory(), entity=client_entity, requester=requester)
        client.force_login(clearing_user)
        page = client.get(QUEUE)
        assert [m.pk for m in page.context["page"]] == [mine.pk]
        html = page.content.decode()
        assert mine.source_session.sender_comp_id in html
        assert other_firm.source_session.sender_comp_id not in html
        assert "1 day" in html

    def test_filters_by_entity_venue_and_search(self, client, clearing_user, clearing_firm, client_entity, requester):
        other_entity = factories.EntityFactory(code="BETA")
        acme = pending_request(firm=clearing_firm, entity=client_entity, requester=requester)
        beta = pending_request(firm=clearing_firm, entity=other_entity, requester=requester)
        ebs = pending_request(firm=clearing_firm, entity=client_entity, requester=requester, venue="EBS")
        client.force_login(clearing_user)

        def listed(**params):
            return [m.pk for m in client.get(QUEUE, params).context["page"]]

        assert listed(entity="BETA") == [beta.pk]
        assert listed(venue="EBS") == [ebs.pk]
        assert listed(q=acme.source_session.sender_comp_id.lower()) == [acme.pk]
        assert listed(q=beta.group.name) == [beta.pk]
        assert listed(entity="NOPE") == [acme.pk, beta.pk, ebs.pk]  # an unknown choice does not filter

    def test_sorts_by_age_sender_comp_id_and_entity(self, client, clearing_user, clearing_firm, requester):
        zeta = factories.EntityFactory(code="ZETA")
        alpha = factories.EntityFactory(code="ALPHA")
        old = pending_request(firm=clearing_firm, entity=zeta, requester=requester, days_old=5, sender_prefix="AAA")
        new = pending_request(firm=clearing_firm, entity=alpha, requester=requester, days_old=1, sender_prefix="ZZZ")
        client.force_login(clearing_user)

        def listed(sort):
            return [m.pk for m in client.get(QUEUE, {"sort": sort}).context["page"]]

        assert listed("-age") == [old.pk, new.pk]
        assert listed("age") == [new.pk, old.pk]
        assert listed("sender_comp_id") == [old.pk, new.pk]
        assert listed("-sender_comp_id") == [new.pk, old.pk]
        assert listed("entity") == [new.pk, old.pk]

    def test_list_costs_a_constant_number_of_queries(
        self, client, clearing_user, clearing_firm, client_entity, requester
    ):
        client.force_login(clearing_user)
        pending_request(firm=clearing_firm, entity=client_entity, requester=requester)
        with CaptureQueriesContext(connection) as one:
            assert client.get(QUEUE).status_code == 200
        for _ in range(5):
            pending_request(firm=clearing_firm, entity=factories.EntityFactory(), requester=factories.UserFactory())
        with CaptureQueriesContext(connection) as six:
            assert len(client.get(QUEUE).context["page"]) == 6
        assert len(six) == len(one)


class TestDecisions:
    def test_approves_several_at_once(self, client, clearing_user, clearing_firm, client_entity, requester):
        group = factories.GroupFactory(entity=client_entity)
        first, second = (
            pending_request(firm=clearing_firm, entity=client_entity, requester=requester, group=group)
            for _ in range(2)
        )
        client.force_login(clearing_user)
        response = client.post(
            DECIDE, {"memberships": [first.pk, second.pk], "decision": "approve", "query": "venue=CME"}
        )
        assert response.status_code == 302
        assert response["Location"] == f"{QUEUE}?venue=CME"
        texts = message_texts(response)
        assert len(texts) == 2
        assert all(text.startswith("Approved ") for text in texts)
        for membership in (first, second):
            membership.refresh_from_db()
            assert membership.status == MembershipStatus.APPROVED
            assert membership.target_id is not None
            assert membership.decided_by == clearing_user

    def test_rejects_with_a_reason(self, client, clearing_user, clearing_firm, client_entity, requester):
        membership = pending_request(firm=clearing_firm, entity=client_entity, requester=requester)
        client.force_login(clearing_user)
        response = client.post(
            DECIDE, {"memberships": [membership.pk], "decision": "reject", "reason": "Not our customer"}
        )
        assert message_texts(response)[0].startswith("Rejected ")
        membership.refresh_from_db()
        assert (membership.status, membership.reason) == (MembershipStatus.REJECTED, "Not our customer")

    def test_rejecting_without_a_reason_changes_nothing(
        self, client, clearing_user, clearing_firm, client_entity, requester
    ):
        membership = pending_request(firm=clearing_firm, entity=client_entity, requester=requester)
        client.force_login(clearing_user)
        response = client.post(DECIDE, {"memberships": [membership.pk], "decision": "reject", "reason": "  "})
        assert message_texts(response) == ["A reason is required to reject."]
        membership.refresh_from_db()
        assert membership.status == MembershipStatus.PENDING

    def test_each_item_reports_its_own_error(self, client, clearing_user, clearing_firm, client_entity, requester):
        own_request = pending_request(firm=clearing_firm, entity=client_entity, requester=clearing_user)
        fine = pending_request(firm=clearing_firm, entity=client_entity, requester=requester)
        client.force_login(clearing_user)
        response = client.post(DECIDE, {"memberships": [own_request.pk, fine.pk], "decision": "approve"})
        texts = message_texts(response)
        assert texts[0].endswith(": The user who made a request cannot decide it.")
        assert texts[1].startswith("Approved ")
        own_request.refresh_from_db()
        assert own_request.status == MembershipStatus.PENDING

    def test_another_firms_request_cannot_be_selected(self, client, clearing_user, client_entity, requester):
        other = pending_request(firm=factories.ClearingFirmFactory(), entity=client_entity, requester=requester)
        client.force_login(clearing_user)
        response = client.post(DECIDE, {"memberships": [other.pk], "decision": "approve"})
        assert message_texts(response) == ["A selected request is no longer in your queue."]
        other.refresh_from_db()
        assert other.status == MembershipStatus.PENDING

    def test_an_empty_selection_is_an_error(self, client, clearing_user):
        client.force_login(clearing_user)
        response = client.post(DECIDE, {"decision": "approve"})
        assert message_texts(response) == ["Select at least one request."]


class TestExport:
    def test_exports_the_filtered_queue(self, client, clearing_user, clearing_firm, client_entity, requester):
        cme = pending_request(firm=clearing_firm, entity=client_entity, requester=requester, days_old=3)
        pending_request(firm=clearing_firm, entity=client_entity, requester=requester, venue="EBS")
        client.force_login(clearing_user)
        response = client.get(EXPORT, {"venue": "CME"})
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"].startswith('attachment; filename="approval-queue-')
        assert parse_csv(response) == [
            [
                "membership_id",
                "group",
                "entity_code",
                "entity_name",
                "sender_comp_id",
                "venue",
                "environment",
                "requested_by",
                "requested_at",
                "age_days",
            ],
            [
                str(cme.pk),
                cme.group.name,
                "ACME",
                "Acme Trading",
                cme.source_session.sender_comp_id,
                "CME",
                "PRODUCTION",
                "requester",
                (NOW - dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "3",
            ],
        ]

    def test_cells_that_look_like_formulas_are_neutralised(
        self, client, clearing_user, clearing_firm, client_entity, requester
    ):
        group = factories.GroupFactory(entity=client_entity, name="=HYPERLINK(1)")
        pending_request(firm=clearing_firm, entity=client_entity, requester=requester, group=group)
        client.force_login(clearing_user)
        assert parse_csv(client.get(EXPORT))[1][1] == "'=HYPERLINK(1)"

    def test_export_costs_a_constant_number_of_queries(
        self, client, clearing_user, clearing_firm, client_entity, requester
    ):
        client.force_login(clearing_user)
        pending_request(firm=clearing_firm, entity=client_entity, requester=requester)
        with CaptureQueriesContext(connection) as one:
            client.get(EXPORT)
        for _ in range(4):
            pending_request(firm=clearing_firm, entity=factories.EntityFactory(), requester=factories.UserFactory())
        with CaptureQueriesContext(connection) as five:
            assert len(parse_csv(client.get(EXPORT))) == 6
        assert len(five) == len(one)


def test_site_root_leads_to_the_portal(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/portal/"
