"""One permission vocabulary, tested once: which role may call which endpoint (a table, role ×
endpoint × method → answer), the audited user and reference-data services the admin writes
through, and the registration of other apps' visibility rules."""

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.utils import timezone

from dropcopy_admin import errors
from dropcopy_admin.choices import Environment, GatewayType, Role, TargetStatus
from dropcopy_admin.models import AuditEvent, KeyPair, PortRange, SegmentGateway, TargetSession, User
from dropcopy_admin.request_id import current_request_id
from dropcopy_admin.selectors import visibility
from dropcopy_admin.services import reference, users
from tests import factories
from tests.support import (
    AM,
    CLEARING,
    CLIENT,
    FINANCE,
    INVALID,
    MISSING,
    NO_ACCESS,
    NOT_NOW,
    READ,
    UNSUPPORTED,
    assert_table_answer,
    cases,
    refused,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(client_entity, clearing_firm, account_manager):
    """Rows every role but finance sees: the client's GFID is guaranteed by the clearing firm; and
    another tenant's session, which no role but account managers sees."""
    gfid = factories.GfidFactory(code="ACM", entity=client_entity, clearing_firm=clearing_firm)
    session = factories.SourceSessionFactory(gfid=gfid, clearing_firm=clearing_firm)
    foreign_gfid = factories.GfidFactory(
        code="OTH",
        entity=factories.EntityFactory(code="OTHER"),
        clearing_firm=factories.ClearingFirmFactory(code="OF1"),
    )
    foreign_session = factories.SourceSessionFactory(gfid=foreign_gfid)
    system = factories.FrontEndSystemFactory(entity=client_entity)
    certification = factories.passed_certification(system, entity=client_entity)
    target = TargetSession.objects.create(
        entity=client_entity,
        venue=factories.venue("CME"),
        environment=Environment.PRODUCTION,
        gateway_type=GatewayType.CGW,
        cgw_gateway=factories.cgw_gateway(),
        target_comp_id="T09999N",
        port=30999,
        status=TargetStatus.PENDING,
        capacity=1000,
        used=0,
        created_at=timezone.now(),
    )
    key_pair = KeyPair.objects.create(
        target=target,
        access_key_id="AKPERMISSIONSTABLE01",
        secret_encrypted="not a secret",
        created_at=timezone.now(),
        expires_at=timezone.now() + dt.timedelta(days=365),
    )
    return {
        "firm": clearing_firm.pk,
        "entity": client_entity.pk,
        "gfid": gfid.pk,
        "foreign_gfid": foreign_gfid.pk,
        "session": session.pk,
        "foreign_session": foreign_session.pk,
        "certification": certification.pk,
        "target": target.pk,
        "key_pair": key_pair.pk,
        "account_manager": account_manager.pk,
        "cgw_gateway": factories.cgw_gateway().pk,
    }


def new_cme_session(world) -> dict:
    """A well-formed session an account manager could register: only the role stands in the way."""
    return {
        "sender_comp_id": "S09ACMN",
        "venue": "CME",
        "environment": "PRODUCTION",
        "gateway_type": "CGW",
        "cgw_gateway": world["cgw_gateway"],
        "gfid": world["gfid"],
    }


def sessions_file(world) -> dict:
    """A well-formed import file of one session an account manager could import."""
    content = (
        "sender_comp_id,venue,environment,gateway_type,cgw_gateway,gfid,clearing_firm\n"
        "S01ACMN,CME,PRODUCTION,MSGW,,ACM,\n"
    )
    return {"file": SimpleUploadedFile("sessions.csv", content.encode(), content_type="text/csv")}


FRONT_END_SYSTEM = {"name": "TradeDesk", "version": "4.2", "vendor": "ACME"}
ONLY_AM_FIRMS = refused("Only account managers may register clearing firms.")
ONLY_AM_SESSIONS = refused("Only account managers may register source sessions.")
ONLY_AM_IMPORT = refused("Only account managers may import source sessions.")


# (method, path, body, {role: (status, code, detail)}). Bodies are malformed on purpose: a caller
# the permission lets through is answered 400 (or 409) by the validation or the service, so
# nothing is written, and only a refusal by role is a 403.
TABLE = [
    (
        "get",
        "clearing-firms/",
        None,
        {AM: READ, CLIENT: READ, CLEARING: READ, FINANCE: refused(NO_ACCESS)},
    ),
    (
        "post",
        "clearing-firms/",
        {"code": "bad"},
        {AM: INVALID, CLIENT: ONLY_AM_FIRMS, CLEARING: ONLY_AM_FIRMS, FINANCE: refused(NO_ACCESS)},
    ),
    (
        "post",
        "clearing-firms/",
        {"code": "NEW", "name": "New"},  # well-formed: only the role stands in the way
        {CLIENT: ONLY_AM_FIRMS, CLEARING: ONLY_AM_FIRMS, FINANCE: refused(NO_ACCESS)},
    ),
    ("get", "clearing-firms/{firm}/", None, {AM: READ, CLIENT: READ, CLEARING: READ, FINANCE: MISSING}),
    (
        "patch",
        "clearing-firms/{firm}/",
        {"name": "Mine"},
        {
            CLIENT: refused("Only account managers may change clearing firms."),
            CLEARING: refused("Only account managers may change clearing firms."),
            FINANCE: MISSING,
        },
    ),
    (
        "patch",
        "clearing-firms/{firm}/",
        {"code": "bad"},
        {
            AM: INVALID,
            CLIENT: refused("Only account managers may change clearing firms."),
            CLEARING: refused("Only account managers may change clearing firms."),
            FINANCE: MISSING,
        },
    ),
    (
        "post",
        "entities/",
        {},
        {
            AM: INVALID,
            CLIENT: refused("Only account managers may register entities."),
            CLEARING: refused("Only account managers may register entities."),
            FINANCE: refused("Only account managers may register entities."),
        },
    ),
    (
        "patch",
        "entities/{entity}/",
        {"code": ""},
        {
            AM: INVALID,
            CLIENT: refused("Only account managers may change entities."),
            CLEARING: refused("Only account managers may change entities."),
            FINANCE: refused("Only account managers may change entities."),
        },
    ),
    ("get", "gfids/", None, {AM: READ, CLIENT: READ, CLEARING: READ, FINANCE: refused(NO_ACCESS)}),
    ("get", "gfids/{gfid}/", None, {AM: READ, CLIENT: READ, CLEARING: READ, FINANCE: MISSING}),
    (
        "post",
        "gfids/",
        {},
        {
            AM: INVALID,
            CLIENT: refused("Only account managers may register GFIDs."),
            CLEARING: refused("Only account managers may register GFIDs."),
            FINANCE: refused(NO_ACCESS),
        },
    ),
    (
        "patch",
        "gfids/{gfid}/",
        {"entity": "x"},
        {
            AM: INVALID,
            CLIENT: refused("Only account managers may change GFIDs."),
            CLEARING: refused("Only account managers may change GFIDs."),
            FINANCE: MISSING,
        },
    ),
    ("get", "source-sessions/", None, {AM: READ, CLIENT: READ, CLEARING: READ, FINANCE: refused(NO_ACCESS)}),
    ("get", "source-sessions/{session}/", None, {AM: READ, CLIENT: READ, CLEARING: READ, FINANCE: MISSING}),
    (
        "post",
        "source-sessions/",
        {},
        {AM: INVALID, CLIENT: ONLY_AM_SESSIONS, CLEARING: ONLY_AM_SESSIONS, FINANCE: refused(NO_ACCESS)},
    ),
    (
        "post",
        "source-sessions/",
        new_cme_session,
        {CLIENT: ONLY_AM_SESSIONS, CLEARING: ONLY_AM_SESSIONS, FINANCE: refused(NO_ACCESS)},
    ),
    (
        "post",
        "source-sessions/",
        lambda world: {"venue": "ICE", "gfid": world["foreign_gfid"]},
        {
            AM: (400, "venue_not_supported", None),
            CLIENT: ONLY_AM_SESSIONS,
            CLEARING: ONLY_AM_SESSIONS,
            FINANCE: refused(NO_ACCESS),
        },
    ),
    (
        "patch",
        "source-sessions/{session}/",
        {"sender_comp_id": "S08ACMN"},
        {
            CLIENT: refused("Only account managers may change source sessions."),
            CLEARING: refused("Only account managers may change source sessions."),
            FINANCE: MISSING,
        },
    ),
    (
        "patch",
        "source-sessions/{foreign_session}/",
        {"sender_comp_id": "S08ACMN"},
        {CLIENT: MISSING, CLEARING: MISSING, FINANCE: MISSING},
    ),
    (
        "patch",
        "source-sessions/{session}/",
        {"environment": "NOWHERE"},
        {
            AM: INVALID,
            CLIENT: refused("Only account managers may change source sessions."),
            CLEARING: refused("Only account managers may change source sessions."),
            FINANCE: MISSING,
        },
    ),
    (
        "post",
        "source-sessions/import/",
        {},  # multipart without a file
        {AM: INVALID, CLIENT: ONLY_AM_IMPORT, CLEARING: ONLY_AM_IMPORT, FINANCE: ONLY_AM_IMPORT},
        "multipart",
    ),
    (
        "post",
        "source-sessions/import/",
        sessions_file,
        {CLIENT: ONLY_AM_IMPORT, CLEARING: ONLY_AM_IMPORT, FINANCE: ONLY_AM_IMPORT},
        "multipart",
    ),
    (
        "post",
        "source-sessions/import/",
        {"file": "x"},
        {AM: UNSUPPORTED, CLIENT: ONLY_AM_IMPORT, CLEARING: ONLY_AM_IMPORT, FINANCE: ONLY_AM_IMPORT},
    ),
    *[
        (
            "post",
            f"certifications/{{certification}}/{decision}/",
            {},
            {
                AM: INVALID,
                CLIENT: refused("Only account managers pass or fail a certification."),
                CLEARING: MISSING,
                FINANCE: MISSING,
            },
        )
        for decision in ("pass", "fail")
    ],
    (
        "post",
        "targets/{target}/verify/",
        {},
        {
            AM: NOT_NOW,
            CLIENT: refused("Only account managers ask for a verification."),
            CLEARING: MISSING,
            FINANCE: MISSING,
        },
    ),
    (
        "post",
        "targets/{target}/renew/",
        {},
        {
            AM: NOT_NOW,
            CLIENT: refused("Only account managers renew a test target."),
            CLEARING: MISSING,
            FINANCE: MISSING,
        },
    ),
    (
        "get",
        "targets/{target}/keys/",
        None,
        {
            AM: READ,
            CLIENT: READ,
            CLEARING: refused("Your role has no access to key pairs."),
            FINANCE: refused("Your role has no access to key pairs."),
        },
    ),
    (
        "post",
        "targets/{target}/keys/",
        None,
        {
            CLEARING: refused("Your role has no access to key pairs."),
            FINANCE: refused("Your role has no access to key pairs."),
        },
    ),
    ("post", "targets/{target}/keys/{key_pair}/revoke/", None, {CLEARING: MISSING, FINANCE: MISSING}),
    (
        "post",
        "front-end-systems/",
        FRONT_END_SYSTEM,
        {CLEARING: refused(NO_ACCESS), FINANCE: refused(NO_ACCESS)},
    ),
    (
        "post",
        "front-end-systems/",
        lambda world: FRONT_END_SYSTEM | {"entity": world["entity"]},
        {CLEARING: refused(NO_ACCESS), FINANCE: refused(NO_ACCESS)},
    ),
    (
        "get",
        "users/",
        None,
        {AM: READ, CLIENT: refused(NO_ACCESS), CLEARING: refused(NO_ACCESS), FINANCE: refused(NO_ACCESS)},
    ),
    ("get", "users/{account_manager}/", None, {AM: READ, CLIENT: MISSING, CLEARING: MISSING, FINANCE: MISSING}),
    (
        "post",
        "users/",
        {"username": "eve", "password": "Tr1cky-Horse-Battery", "role": "finance"},
        {CLIENT: refused(NO_ACCESS), CLEARING: refused(NO_ACCESS), FINANCE: refused(NO_ACCESS)},
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "role", "answer", "send_as"), cases(TABLE))
def test_each_role_gets_the_answer_the_table_gives(request, world, method, path, body, role, answer, send_as):
    assert_table_answer(request, world, method, path, body, role, answer, send_as)


# --- users ------------------------------------------------------------------------------------


def _hash_in(value, password_hash: str) -> bool:
    return password_hash in repr(value)


def test_user_update_is_audited_with_before_after_and_request_id_and_keeps_role_flags(account_manager, finance_user):
    token = current_request_id.set("users-test-1")
    try:
        user = users.user_update(
            actor=account_manager, user=finance_user, role=Role.CLIENT, entity=factories.EntityFactory()
        )
    finally:
        current_request_id.reset(token)
    user.refresh_from_db()
    assert (user.role, user.is_staff, user.is_superuser) == (Role.CLIENT, False, False)
    assert not user.groups.filter(name=users.FINANCE_GROUP).exists()
    event = AuditEvent.objects.get(object_type="user", object_id=user.pk)
    assert (event.action, event.actor, event.request_id) == ("update", "am", "users-test-1")
    assert (event.before["role"], event.after["role"], event.after["entity_id"]) == (
        "finance",
        "client",
        user.entity_id,
    )
    assert "password" not in event.before and "password" not in event.after
    assert not _hash_in(event.before, user.password) and not _hash_in(event.after, user.password)


def test_user_update_records_nothing_when_nothing_changes(account_manager, client_user):
    users.user_update(actor=account_manager, user=client_user, email=client_user.email)
    assert not AuditEvent.objects.filter(object_type="user", object_id=client_user.pk).exists()


@pytest.mark.parametrize("actor_fixture", ["client_user", "clearing_user", "finance_user"])
def test_user_update_is_refused_to_anyone_but_an_account_manager(request, actor_fixture, client_user):
    actor = request.getfixturevalue(actor_fixture)
    with pytest.raises(errors.PermissionDenied) as refusal:
        users.user_update(actor=actor, user=client_user, role=Role.ACCOUNT_MANAGER, entity=None)
    assert refusal.value.code == "permission_denied"
    client_user.refresh_from_db()
    assert (client_user.role, client_user.is_superuser) == (Role.CLIENT, False)
    assert not AuditEvent.objects.filter(object_type="user").exists()


def test_user_update_checks_the_links_of_the_role(account_manager, finance_user):
    with pytest.raises(errors.InvalidInput) as refusal:
        users.user_update(actor=account_manager, user=finance_user, role=Role.CLEARING_FIRM)
    assert list(refusal.value.errors) == ["clearing_firm"]


def test_user_update_refuses_a_taken_username(account_manager, client_user, finance_user):
    with pytest.raises(errors.Conflict) as refusal:
        users.user_update(actor=account_manager, user=finance_user, username=client_user.username)
    assert refusal.value.code == "already_exists"


def test_user_update_does_not_touch_the_password_or_the_superuser_flag(account_manager, client_user):
    with pytest.raises(TypeError):
        users.user_update(actor=account_manager, user=client_user, password="x")
    with pytest.raises(TypeError):
        users.user_update(actor=account_manager, user=client_user, is_superuser=True)


def test_user_set_password_is_audited_without_the_hash(account_manager, client_user):
    user = users.user_set_password(actor=account_manager, user=client_user, password="N3w-Pa55word!")
    assert User.objects.get(pk=user.pk).check_password("N3w-Pa55word!")
    event = AuditEvent.objects.get(object_type="user", object_id=user.pk)
    assert event.action == "set_password" and "password" not in event.after
    assert not _hash_in(event.after, user.password) and "N3w-Pa55word!" not in repr(event.after)


def test_user_set_password_refuses_a_weak_one_and_anyone_but_an_account_manager(account_manager, client_user):
    with pytest.raises(errors.InvalidInput) as weak:
        users.user_set_password(actor=account_manager, user=client_user, password="1")
    assert "password" in weak.value.errors
    with pytest.raises(errors.PermissionDenied):
        users.user_set_password(actor=client_user, user=client_user, password="N3w-Pa55word!")
    assert User.objects.get(pk=client_user.pk).check_password("s3cret-Pa55word")
    assert not AuditEvent.objects.filter(object_type="user").exists()


# --- reference data ---------------------------------------------------------------------------


def test_a_gateways_addresses_change_audited_and_its_identity_stays(account_manager):
    gateway = factories.cgw_gateway()
    changed = reference.gateway_update(actor=account_manager, gateway=gateway, backup_ip="127.10.9.9")
    assert changed.backup_ip == "127.10.9.9"
    event = AuditEvent.objects.get(object_type="cgwgateway", object_id=gateway.pk)
    assert (event.action, event.before["backup_ip"], event.after["backup_ip"]) == ("update", "127.10.1.2", "127.10.9.9")
    with pytest.raises(TypeError):
        reference.gateway_update(actor=account_manager, gateway=gateway, code="CGW9")
    with pytest.raises(errors.InvalidInput) as malformed:
        reference.gateway_update(actor=account_manager, gateway=gateway, primary_ip="not an address")
    assert list(malformed.value.errors) == ["primary_ip"]


def test_reference_data_writes_are_for_account_managers(client_user):
    with pytest.raises(errors.PermissionDenied):
        reference.gateway_update(actor=client_user, gateway=factories.cgw_gateway(), backup_ip="127.10.9.9")
    with pytest.raises(errors.PermissionDenied):
        reference.port_range_update(actor=client_user, port_range=PortRange.objects.first(), last_port=40000)
    assert not AuditEvent.objects.exists()


def test_a_segment_gateway_is_created_once_audited(account_manager):
    fields = {
        "venue": factories.venue("CME"),
        "environment": Environment.PRODUCTION,
        "market_segment": 98,
        "primary_ip": "127.20.98.1",
        "backup_ip": "127.20.98.2",
    }
    gateway = reference.segment_gateway_create(actor=account_manager, **fields)
    assert AuditEvent.objects.get(object_type="segmentgateway", object_id=gateway.pk).action == "create"
    with pytest.raises(errors.Conflict) as taken:
        reference.segment_gateway_create(actor=account_manager, **fields)
    assert taken.value.code == "already_exists"
    with pytest.raises(errors.InvalidInput):
        reference.segment_gateway_create(actor=account_manager, **{**fields, "market_segment": 100})
    same_place = {"venue": "CME", "environment": Environment.PRODUCTION, "market_segment": 98}
    assert SegmentGateway.objects.filter(**same_place).count() == 1


def test_a_port_range_keeps_its_ports_in_order_and_is_audited(account_manager):
    port_range = PortRange.objects.first()
    with pytest.raises(errors.InvalidInput) as backwards:
        reference.port_range_update(actor=account_manager, port_range=port_range, last_port=port_range.first_port - 1)
    assert list(backwards.value.errors) == ["last_port"]
    reference.port_range_update(actor=account_manager, port_range=port_range, last_port=port_range.last_port - 1)
    event = AuditEvent.objects.get(object_type="portrange", object_id=port_range.pk)
    assert event.after["last_port"] == event.before["last_port"] - 1
    with pytest.raises(errors.Conflict):
        reference.port_range_create(
            actor=account_manager, environment=port_range.environment, first_port=40000, last_port=40100
        )


# --- visibility registration ------------------------------------------------------------------


@pytest.fixture
def rules_restored(monkeypatch):
    """Registrations made by a test are forgotten after it."""
    monkeypatch.setattr(visibility, "_RULES", dict(visibility._RULES))


def test_a_registered_rule_decides_what_a_role_sees(rules_restored, account_manager, client_user, clearing_user):
    production = PortRange.objects.get(environment=Environment.PRODUCTION)
    visibility.register(PortRange, {Role.CLIENT: lambda user: models.Q(environment=Environment.PRODUCTION)})
    assert list(visibility.visible(client_user, PortRange)) == [production]
    assert visibility.can_see(client_user, production)
    assert visibility.visible(clearing_user, PortRange) is None  # no rule: no access
    assert visibility.visible(account_manager, PortRange).count() == PortRange.objects.count()


def test_an_unregistered_model_is_for_account_managers_only(client_user, account_manager):
    assert visibility.visible(client_user, PortRange) is None
    assert visibility.visible(account_manager, PortRange) is not None


@pytest.mark.parametrize(
    ("model", "rules"),
    [
        (TargetSession, {Role.CLIENT: visibility.every_row}),  # the core registered it already
        (PortRange, {Role.ACCOUNT_MANAGER: visibility.every_row}),  # they read every row anyway
        (PortRange, {"auditor": visibility.every_row}),  # no such role
    ],
    ids=["twice", "account-managers", "unknown-role"],
)
def test_a_registration_that_would_be_ambiguous_is_refused(rules_restored, model, rules):
    with pytest.raises(ImproperlyConfigured):
        visibility.register(model, rules)
