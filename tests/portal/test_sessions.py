"""The sessions list and the registration of one session: what the entity may read, filters,
pagination at a constant number of queries, empty states, errors beside their fields, and
isolation from another entity."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dropcopy_admin.choices import MembershipStatus, Role
from dropcopy_admin.models import SourceSession
from tests import factories

LIST = reverse("portal:sessions")
REGISTER = reverse("portal:session-register")


@pytest.fixture
def gfid(client_entity, clearing_firm):
    return factories.GfidFactory(code="ACM", entity=client_entity, clearing_firm=clearing_firm)


@pytest.fixture
def other_gfid(db):
    other = factories.EntityFactory(code="OTHER", name="Other Trading")
    return factories.GfidFactory(code="OTH", entity=other)


@pytest.fixture
def logged_in(client, client_user):
    client.force_login(client_user)
    return client


def session(gfid, number: int, **fields):
    return factories.SourceSessionFactory(gfid=gfid, sender_comp_id=f"{number:03d}{gfid.code}N", **fields)


def listed(response) -> list[str]:
    assert response.status_code == 200
    return [row.sender_comp_id for row in response.context["page"].object_list]


# --- the list --------------------------------------------------------------------------------


def test_list_shows_the_entitys_sessions_with_their_details_and_groups(logged_in, client_entity, gfid, client_user):
    cgw = session(gfid, 1)
    msgw = session(gfid, 2, gateway_type="MSGW", cgw_gateway=None)
    group = factories.GroupFactory(entity=client_entity, name="Alpha CME Production")
    factories.MembershipFactory(group=group, source_session=cgw, status=MembershipStatus.APPROVED)
    closed_request = factories.GroupFactory(entity=client_entity, name="Withdrawn one")
    factories.MembershipFactory(group=closed_request, source_session=msgw, status=MembershipStatus.WITHDRAWN)
    response = logged_in.get(LIST)
    assert listed(response) == ["001ACMN", "002ACMN"]
    body = response.content.decode()
    for text in ("001ACMN", "CGW1", "Alpha CME Production", "CF1", "<code>ACM</code>", "Production"):
        assert text in body
    assert "Withdrawn one" not in body  # only live memberships name a group


def test_list_never_shows_another_entitys_sessions_or_groups(logged_in, gfid, other_gfid):
    session(gfid, 1)
    foreign = session(other_gfid, 1)
    other_group = factories.GroupFactory(entity=other_gfid.entity, name="Their group")
    factories.MembershipFactory(group=other_group, source_session=foreign, status=MembershipStatus.APPROVED)
    own_in_their_group = session(gfid, 2)
    factories.MembershipFactory(group=other_group, source_session=own_in_their_group, status=MembershipStatus.PENDING)
    response = logged_in.get(LIST)
    assert listed(response) == ["001ACMN", "002ACMN"]
    body = response.content.decode()
    assert "001OTHN" not in body and "Their group" not in body
    assert "001OTHN" not in logged_in.get(LIST, {"q": "OTH"}).content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"venue": "EBS"}, ["101EB1N"]),
        ({"environment": "CERT"}, ["003ACMN"]),
        ({"gateway_type": "MSGW"}, ["002ACMN"]),
        ({"q": "02a"}, ["002ACMN"]),
        ({"q": "ACM", "gateway_type": "CGW"}, ["001ACMN", "003ACMN"]),
    ],
)
def test_filters(logged_in, client_entity, gfid, query, expected):
    session(gfid, 1)
    session(gfid, 2, gateway_type="MSGW", cgw_gateway=None)
    session(gfid, 3, environment="CERT")
    ebs = factories.GfidFactory(code="EB1", venue=factories.venue("EBS"), entity=client_entity, clearing_firm=None)
    session(ebs, 101)
    assert listed(logged_in.get(LIST, query)) == expected


def test_htmx_filter_answers_the_results_alone(logged_in, gfid):
    session(gfid, 1)
    response = logged_in.get(LIST, {"q": "001"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="sessions-results"')
    assert "<html" not in body and "001ACMN" in body


def test_htmx_history_restore_gets_the_whole_page_and_answers_vary(logged_in, gfid):
    session(gfid, 1)
    response = logged_in.get(LIST, {"q": "001"}, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in response.content.decode()
    assert "HX-Request" in response["Vary"]


def test_empty_states_say_what_to_do(logged_in, gfid):
    body = logged_in.get(LIST).content.decode()
    assert "Your entity has no source sessions yet" in body
    assert reverse("portal:session-register") in body and reverse("portal:sessions-import") in body
    session(gfid, 1)
    body = logged_in.get(LIST, {"q": "ZZZ"}).content.decode()
    assert "No session matches these filters" in body


def test_list_is_paginated(logged_in, gfid):
    for number in range(55):
        session(gfid, number)
    first = logged_in.get(LIST)
    assert len(listed(first)) == 50 and "Page 1 of 2" in first.content.decode()
    assert len(listed(logged_in.get(LIST, {"page": 2}))) == 5


def test_list_costs_a_constant_number_of_queries(logged_in, client_entity, gfid):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert logged_in.get(LIST).status_code == 200
        return len(captured)

    group = factories.GroupFactory(entity=client_entity)
    factories.MembershipFactory(group=group, source_session=session(gfid, 0))
    one = queries()
    for number in range(1, 30):
        factories.MembershipFactory(
            group=factories.GroupFactory(entity=client_entity),
            source_session=session(gfid, number, gateway_type="MSGW", cgw_gateway=None),
        )
    assert queries() == one


@pytest.mark.parametrize("role", [Role.CLEARING_FIRM, Role.FINANCE, Role.ACCOUNT_MANAGER])
def test_pages_are_for_client_administrators(client, role, db):
    client.force_login(factories.UserFactory(role=role))
    for url in (LIST, REGISTER, reverse("portal:sessions-import")):
        assert client.get(url).status_code == 403


def test_anonymous_visitors_go_to_the_login_page(client, db):
    assert client.get(LIST).status_code == 302


# --- register one ----------------------------------------------------------------------------


def form_data(own_gfid, **fields):
    data = {
        "sender_comp_id": "S01ACMN",
        "venue": "CME",
        "environment": "PRODUCTION",
        "gateway_type": "CGW",
        "cgw_gateway": factories.cgw_gateway().pk,
        "gfid": own_gfid.pk,
        "clearing_firm": "",
    }
    data.update(fields)
    return data


def test_register_offers_only_the_entitys_own_gfids(logged_in, gfid, other_gfid):
    response = logged_in.get(REGISTER)
    assert list(response.context["form"].fields["gfid"].queryset) == [gfid]
    body = response.content.decode()
    assert "ACM (CME, guaranteed by CF1)" in body and "OTH" not in body


def test_register_stores_the_session_with_the_gfids_firm(logged_in, gfid, clearing_firm):
    response = logged_in.post(REGISTER, form_data(gfid))
    assert response.status_code == 302 and response["Location"] == f"{LIST}?q=S01ACMN"
    stored = SourceSession.objects.get()
    assert (stored.sender_comp_id, stored.clearing_firm, stored.gfid) == ("S01ACMN", clearing_firm, gfid)
    assert "Session S01ACMN registered" in logged_in.get(response["Location"]).content.decode()


def test_register_refuses_another_entitys_gfid_beside_the_field(logged_in, gfid, other_gfid):
    response = logged_in.post(REGISTER, form_data(gfid, gfid=other_gfid.pk, sender_comp_id="S01OTHN"))
    assert response.status_code == 400
    assert response.context["form"].errors["gfid"]
    assert not SourceSession.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"sender_comp_id": "S01XYZN"}, "sender_comp_id", "embeds GFID XYZ, not the session's GFID ACM"),
        ({"sender_comp_id": "S01ACM"}, "sender_comp_id", "A CME SenderCompID is 7 uppercase letters or digits."),
        ({"cgw_gateway": ""}, "cgw_gateway", "A CGW session names the iLink gateway it lives on."),
        ({"venue": "BROKERTEC", "gateway_type": "CGW"}, "gateway_type", "BROKERTEC does not offer CGW sessions."),
        ({"sender_comp_id": ""}, "sender_comp_id", "This field is required."),
    ],
)
def test_register_errors_are_beside_their_field_in_words(logged_in, gfid, fields, field, words):
    response = logged_in.post(REGISTER, form_data(gfid, **fields))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert any(words in message for message in errors[field]), errors
    body = response.content.decode()
    assert f'data-testid="error-{field}"' in body
    assert "sender_comp_id_mismatch" not in body and "gateway_type_not_supported" not in body


def test_register_a_duplicate_is_explained_beside_the_sender_comp_id(logged_in, gfid):
    session(gfid, 1)
    response = logged_in.post(REGISTER, form_data(gfid, sender_comp_id="001ACMN"))
    assert response.context["form"].errors["sender_comp_id"] == ["SenderCompID 001ACMN already exists in PRODUCTION."]


def test_register_another_clearing_firm_is_refused_beside_its_field(logged_in, gfid, client_entity):
    other_firm = factories.ClearingFirmFactory(code="OF2")
    factories.GfidFactory(code="AC2", entity=client_entity, clearing_firm=other_firm)
    response = logged_in.post(REGISTER, form_data(gfid, clearing_firm=other_firm.pk))
    assert "guaranteed by CF1" in response.context["form"].errors["clearing_firm"][0]
    assert not SourceSession.objects.exists()


def test_register_without_self_service_says_so(logged_in, gfid, client_entity):
    client_entity.self_service = False
    client_entity.save()
    response = logged_in.post(REGISTER, form_data(gfid))
    assert response.status_code == 400
    assert "not authorised for self-service on CME; ask your account manager." in response.content.decode()
