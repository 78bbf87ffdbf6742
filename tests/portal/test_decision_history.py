"""The clearing firm's decision history: its own decisions only (no auto-approval, no other firm's),
filters, sorting, exports, bad values, a constant number of queries."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dropcopy_admin import clock
from dropcopy_admin.choices import MembershipStatus, Role
from tests import factories

from .helpers import NOW, csv_rows, membership, target, xlsx_rows

URL = reverse("portal:decision-history")


@pytest.fixture(autouse=True)
def _frozen_clock():
    clock.freeze(NOW)


@pytest.fixture
def logged_in(client, clearing_user):
    client.force_login(clearing_user)
    return client


@pytest.fixture
def decided(client_entity, client_user, clearing_firm, clearing_user):
    def decided(status=MembershipStatus.APPROVED, firm=None, entity=None, **fields):
        return membership(
            entity=entity or client_entity,
            firm=firm or clearing_firm,
            requester=client_user,
            status=status,
            decider=clearing_user,
            **fields,
        )

    return decided


def senders(response) -> list[str]:
    table = response.context["table"]
    key = [c.key for c in table.columns].index("sender_comp_id")
    return [row[key] for row in table.page_rows()]


@pytest.mark.parametrize("role", [Role.CLIENT, Role.FINANCE])
def test_only_clearing_firm_administrators_open_it(client, db, role):
    client.force_login(factories.UserFactory(role=role))
    assert client.get(URL).status_code == 403


def test_lists_the_firms_decisions_only(logged_in, decided, client_user):
    approved = decided(MembershipStatus.APPROVED)
    rejected = decided(MembershipStatus.REJECTED, reason="Not ours")
    revoked = decided(MembershipStatus.REVOKED)
    auto = decided(MembershipStatus.APPROVED, auto_approved=True, reason="Own GFID")
    pending = membership(entity=client_user.entity, firm=approved.source_session.clearing_firm, requester=client_user)
    other_firm = decided(MembershipStatus.APPROVED, firm=factories.ClearingFirmFactory())
    response = logged_in.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    shown = set(senders(response))
    assert shown == {m.source_session.sender_comp_id for m in (approved, rejected, revoked)}
    for hidden in (auto, pending, other_firm):
        assert hidden.source_session.sender_comp_id not in body
    assert "Not ours" in body
    assert reverse("portal:approval-queue") in body


def test_filters_sorts_and_exports(logged_in, decided):
    other_entity = factories.EntityFactory(code="ZETA", name="Zeta Trading")
    approved = decided(MembershipStatus.APPROVED, days_old=5)
    rejected = decided(MembershipStatus.REJECTED, days_old=2, entity=other_entity, reason="No")
    assert senders(logged_in.get(URL, {"decision": "rejected"})) == [rejected.source_session.sender_comp_id]
    assert senders(logged_in.get(URL, {"entity": "zeta"})) == [rejected.source_session.sender_comp_id]
    assert senders(logged_in.get(URL, {"entity": "Zeta Trad"})) == [rejected.source_session.sender_comp_id]
    assert senders(logged_in.get(URL, {"sender_comp_id": approved.source_session.sender_comp_id})) == [
        approved.source_session.sender_comp_id
    ]
    day = approved.decided_at.date().isoformat()
    assert senders(logged_in.get(URL, {"decided_at_from": day, "decided_at_to": day})) == [
        approved.source_session.sender_comp_id
    ]
    assert senders(logged_in.get(URL, {"sort": "decided_at"})) == [
        approved.source_session.sender_comp_id,
        rejected.source_session.sender_comp_id,
    ]
    rows = csv_rows(logged_in.get(URL, {"decision": "rejected", "export": "csv"}))
    assert rows[0][0] == "Decided at"
    assert len(rows) == 2 and rejected.source_session.sender_comp_id in rows[1]
    sheet = xlsx_rows(logged_in.get(URL, {"export": "xlsx"}))
    assert {row[3] for row in sheet[1:]} == {
        approved.source_session.sender_comp_id,
        rejected.source_session.sender_comp_id,
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [({"decision": "pending"}, "decision"), ({"decided_at_to": "4 Dec"}, "decided_at_to"), ({"sort": "x"}, "sort")],
)
def test_bad_values_are_errors_beside_fields(logged_in, decided, params, field):
    decided()
    response = logged_in.get(URL, params)
    assert response.status_code == 200
    assert field in response.context["table"].form.errors
    assert logged_in.get(URL, {**params, "export": "xlsx"}).status_code == 400
    assert logged_in.get(URL, {"export": "pdf"}).status_code == 400


def test_a_constant_number_of_queries(logged_in, decided):
    decided()
    with CaptureQueriesContext(connection) as one:
        logged_in.get(URL)
    for _ in range(30):
        decided(MembershipStatus.REJECTED, entity=factories.EntityFactory())
    with CaptureQueriesContext(connection) as many:
        response = logged_in.get(URL)
    assert len(response.context["table"].page_rows()) == 31
    assert len(many) == len(one)


# --- the approval queue's preview of what approving would open ---------------------------------

QUEUE = reverse("portal:approval-queue")


@pytest.fixture
def pending(client_entity, client_user, clearing_firm):
    return membership(entity=client_entity, firm=clearing_firm, requester=client_user)


def test_the_queue_links_the_history_and_a_preview_per_request(logged_in, pending):
    body = logged_in.get(QUEUE).content.decode()
    assert URL in body
    assert f"?preview={pending.pk}" in body


def test_preview_of_a_request_that_opens_a_new_cgw_target(logged_in, pending):
    response = logged_in.get(QUEUE, {"preview": pending.pk}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1>" not in body
    assert "Opens a new CGW target for iLink gateway CGW1 (CME, Production)" in body
    plain = logged_in.get(QUEUE, {"preview": pending.pk}).content.decode()
    assert "<h1>What approving would open</h1>" in plain
    assert pending.source_session.sender_comp_id in plain


def test_preview_of_a_request_that_joins_an_existing_target(logged_in, pending):
    existing = target(
        entity=pending.group.entity,
        group=pending.group,
        gateway_type="CGW",
        cgw_gateway=pending.source_session.cgw_gateway,
        used=412,
        capacity=1000,
    )
    body = logged_in.get(QUEUE, {"preview": pending.pk}, headers={"HX-Request": "true"}).content.decode()
    assert f"Joins target {existing.target_comp_id} (412 of 1,000 used)" in body
    assert type(pending).objects.get(pk=pending.pk).status == MembershipStatus.PENDING  # nothing written


def test_preview_of_a_request_that_would_be_refused(logged_in, pending):
    pending.group.status = "closed"
    pending.group.closed_at = pending.group.opened_at + dt.timedelta(minutes=1)
    pending.group.save()
    body = logged_in.get(QUEUE, {"preview": pending.pk}, headers={"HX-Request": "true"}).content.decode()
    assert "Approving it now would be refused:" in body
    assert "group_closed" not in body


def test_preview_of_another_firms_request_or_a_bad_id_is_not_found(logged_in, client_entity, client_user):
    theirs = membership(entity=client_entity, firm=factories.ClearingFirmFactory(), requester=client_user)
    assert logged_in.get(QUEUE, {"preview": theirs.pk}).status_code == 404
    assert logged_in.get(QUEUE, {"preview": "abc"}).status_code == 404
    assert logged_in.get(QUEUE, {"preview": "99999999999999999999"}).status_code == 404
