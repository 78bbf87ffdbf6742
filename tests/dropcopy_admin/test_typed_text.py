"""Names people type refuse control characters at input (issue 13): entities, clearing firms,
groups, front-end systems and users. One check (``check_text``) used by every service that writes
such a field: 400 ``invalid`` on that field, nothing written."""

import pytest

from dropcopy_admin import errors
from dropcopy_admin.choices import Environment, Role
from dropcopy_admin.services.common import check_text
from dropcopy_admin.services.front_end_systems import front_end_system_create
from dropcopy_admin.services.groups import group_create, group_update
from dropcopy_admin.services.registry import (
    clearing_firm_create,
    clearing_firm_update,
    entity_create,
    entity_update,
)
from dropcopy_admin.services.users import api_token_issue, user_create, user_update
from tests import factories
from tests.support import assert_invalid, database_contents

pytestmark = pytest.mark.django_db

# Control characters (C0, DEL, C1), invisible formatting (zero-width space and joiner, a
# left-to-right mark, a right-to-left override and isolate, the byte order mark, a soft hyphen),
# the Unicode line and paragraph separators, and a lone surrogate.
NEVER_IN_TEXT = [
    "\x00",
    "\x06",
    "\x0b",
    "\x0c",
    "\x1b",
    "\x7f",
    "\x85",
    "\x9f",
    "\u200b",
    "\u200d",
    "\u200e",
    "\u202e",
    "\u2066",
    "\ufeff",
    "\u00ad",
    "\u2028",
    "\u2029",
    "\ud800",
]
LAYOUT = ["\t", "\n", "\r"]
ORDINARY = ["Acme Trading", "Société Générale", "東京 Futures", "O'Brien & Sons (UK) Ltd.", "Nbsp\u00a0Name", "📈 Desk"]


def refused_on(field: str, call) -> None:
    """``call`` raises ``invalid`` on ``field`` alone, and writes nothing."""
    before = database_contents()
    with pytest.raises(errors.InvalidInput) as refusal:
        call()
    assert refusal.value.code == "invalid"
    assert list(refusal.value.errors) == [field]
    assert database_contents() == before


# --- the check ------------------------------------------------------------------------------


@pytest.mark.parametrize("character", NEVER_IN_TEXT + LAYOUT)
def test_a_name_refuses_every_control_or_invisible_character(character):
    with pytest.raises(errors.InvalidInput) as refusal:
        check_text("name", f"Acme{character}Trading")
    assert refusal.value.errors == {
        "name": ["Control characters (such as tabs, line breaks or invisible formatting) are not allowed here."]
    }


@pytest.mark.parametrize("character", NEVER_IN_TEXT)
def test_a_note_refuses_every_control_or_invisible_character_but_layout(character):
    with pytest.raises(errors.InvalidInput) as refusal:
        check_text("note", f"Refund\n\tApril{character}", multiline=True)
    assert refusal.value.errors == {"note": ["Tabs and line breaks are the only control characters allowed here."]}


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_passes(text):
    check_text("name", text)
    check_text("note", text + "\r\n\tsecond line", multiline=True)


# --- each service, each field ---------------------------------------------------------------


@pytest.mark.parametrize("character", ["\x06", "\u202e"])
def test_clearing_firm_name(account_manager, clearing_firm, character):
    refused_on("name", lambda: clearing_firm_create(actor=account_manager, code="CF2", name=f"Second{character}"))
    refused_on(
        "name", lambda: clearing_firm_update(actor=account_manager, firm=clearing_firm, name=f"First{character}")
    )


@pytest.mark.parametrize("field", ["code", "name"])
@pytest.mark.parametrize("character", ["\x0b", "\u200b"])
def test_entity_code_and_name(account_manager, client_entity, field, character):
    values = {"code": "NEWCO", "name": "New Co"}
    values[field] += character
    refused_on(field, lambda: entity_create(actor=account_manager, **values))
    refused_on(field, lambda: entity_update(actor=account_manager, entity=client_entity, **{field: f"ACME{character}"}))


@pytest.mark.parametrize("character", ["\x1b", "\ufeff", "\u2028"])
def test_group_name(client_user, client_entity, character):
    system = factories.FrontEndSystemFactory(entity=client_entity)
    group = factories.GroupFactory(entity=client_entity, front_end_system=system, environment=Environment.NEW_RELEASE)
    refused_on(
        "name",
        lambda: group_create(
            actor=client_user,
            entity=client_entity,
            name=f"Main {character}desk",
            venue=factories.venue("CME"),
            environment=Environment.NEW_RELEASE,
            front_end_system=system,
        ),
    )
    refused_on("name", lambda: group_update(actor=client_user, group=group, name=f"Re{character}named"))


@pytest.mark.parametrize("field", ["name", "version", "vendor"])
@pytest.mark.parametrize("character", ["\x7f", "\u200d"])
def test_front_end_system_name_version_and_vendor(client_user, client_entity, field, character):
    values = {"name": "TradeDesk", "version": "4.2", "vendor": "ACME"}
    values[field] += character
    refused_on(field, lambda: front_end_system_create(actor=client_user, entity=client_entity, **values))


@pytest.mark.parametrize("field", ["username", "email"])
@pytest.mark.parametrize("character", ["\x00", "\u00ad"])
def test_new_user_username_and_email(account_manager, field, character):
    values = {"username": "alice", "email": "alice@example.com"}
    values[field] = values[field].replace("@", f"{character}@") if field == "email" else values[field] + character
    refused_on(
        field,
        lambda: user_create(
            actor=account_manager, password="a long and strong pass phrase", role=Role.FINANCE, **values
        ),
    )


@pytest.mark.parametrize("field", ["username", "first_name", "last_name", "email"])
@pytest.mark.parametrize("character", ["\x85", "\u2066"])
def test_changed_user_names_and_email(account_manager, client_user, field, character):
    refused_on(field, lambda: user_update(actor=account_manager, user=client_user, **{field: f"x{character}y"}))


@pytest.mark.parametrize("character", ["\x06", "\u202e"])
def test_api_token_name(client_user, character):
    refused_on("name", lambda: api_token_issue(user=client_user, name=f"CI{character} pipeline"))


def test_ordinary_names_are_still_written(account_manager, client_user, client_entity):
    firm = clearing_firm_create(actor=account_manager, code="CF2", name="Société Générale Clearing")
    entity = entity_create(actor=account_manager, code="TKY", name="東京 Futures")
    renamed = user_update(actor=account_manager, user=client_user, first_name="Zoë", last_name="O'Brien")
    system = front_end_system_create(actor=client_user, entity=client_entity, name="Desk", version="1.0", vendor="AC")
    group = group_create(
        actor=client_user,
        entity=client_entity,
        name="📈 Main desk",
        venue=factories.venue("CME"),
        environment=Environment.NEW_RELEASE,
        front_end_system=system,
    )
    assert (firm.name, entity.name, renamed.first_name, group.name) == (
        "Société Générale Clearing",
        "東京 Futures",
        "Zoë",
        "📈 Main desk",
    )


# --- through the API ------------------------------------------------------------------------


def test_the_api_answers_invalid_on_the_field_and_writes_nothing(am_api, client_api, client_entity, clearing_firm):
    system = factories.FrontEndSystemFactory(entity=client_entity)
    group = factories.GroupFactory(entity=client_entity, front_end_system=system, environment=Environment.NEW_RELEASE)
    before = database_contents()
    assert_invalid(am_api.post("/api/v1/entities/", {"code": "NEWCO", "name": "New\u0006 Co"}, format="json"), "name")
    assert_invalid(
        am_api.patch(f"/api/v1/clearing-firms/{clearing_firm.pk}/", {"name": "First\u202eClearing"}, format="json"),
        "name",
    )
    assert_invalid(client_api.patch(f"/api/v1/groups/{group.pk}/", {"name": "Ma\u000bin"}, format="json"), "name")
    assert_invalid(
        client_api.post(
            "/api/v1/groups/",
            {"name": "New\u200bdesk", "venue": "CME", "environment": "NEW_RELEASE", "front_end_system": system.pk},
            format="json",
        ),
        "name",
    )
    assert_invalid(
        client_api.post(
            "/api/v1/front-end-systems/", {"name": "Desk", "version": "4.2", "vendor": "AC\u0006ME"}, format="json"
        ),
        "vendor",
    )
    assert database_contents() == before
