"""Words for people in the admin: the site is titled Drop Copy Manager, objects are named by what
people know them by, no page shows a rule id or an error code, the plumbing (permission groups,
the beat schedule) is kept to superusers under sections named for it, and the API docs send a
visitor who is not logged in to the login page and back."""

import re
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from dropcopy_admin.choices import GatewayType, GroupStatus
from dropcopy_admin.models import (
    ApiToken,
    AuditEvent,
    CgwGateway,
    ConnectivityCheck,
    DropCopyGroup,
    FeedRequest,
    KeyPair,
    PortRange,
    SegmentGateway,
    SequenceStream,
    TargetAddress,
)
from dropcopy_admin.services import keys, users
from entitlements.selectors import certification_checklist
from entitlements.services import temporary_targets
from entitlements.services.memberships import memberships_request
from tests import factories

pytestmark = pytest.mark.django_db

RULE_ID = re.compile(r"\bR\d{1,2}[a-z]?\b")
# The codes of api-contract.md's table, bracketed or in parentheses as the admin used to show them.
ERROR_CODE = re.compile(
    r"[\[(](invalid|invalid_credentials|not_authenticated|permission_denied|not_found|method_not_allowed"
    r"|throttled|unsupported_media_type|venue_not_supported|gateway_type_not_supported|sender_comp_id_mismatch"
    r"|target_not_selectable|already_exists|venue_mismatch|environment_mismatch|group_closed"
    r"|duplicate_membership|capacity_exceeded|pool_exhausted|invalid_transition|self_approval"
    r"|certification_required|fee_changed|billing_period_closed|server_error)[\])]"
)
BRACKETED_CODE = re.compile(r"\[[a-z]+(_[a-z]+)+\]")


class _VisibleText(HTMLParser):
    """The text a person reads on a page: everything but scripts and styles, plus titles and placeholders."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._hidden += 1
        self.parts.extend(value for name, value in attrs if name in ("title", "placeholder", "aria-label") and value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible_text(response) -> str:
    parser = _VisibleText()
    parser.feed(response.content.decode())
    return " ".join(" ".join(parser.parts).split())


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def am_client(client, account_manager):
    client.force_login(account_manager)
    return client


@pytest.fixture
def alpha():
    """Alpha Trading's production group "Alpha CME Production", its session AC1ALPN approved onto a target."""
    entity = factories.EntityFactory(code="ALPHA", name="Alpha Trading")
    gfid = factories.GfidFactory(code="ALP", entity=entity, admin_control=True)
    session = factories.SourceSessionFactory(gfid=gfid, sender_comp_id="AC1ALPN")
    group = factories.GroupFactory(entity=entity, name="Alpha CME Production")
    return group, session


@pytest.fixture
def world(account_manager, alpha):
    """One of everything the admin lists, made through the services where there is one."""
    group, session = alpha
    (outcome,) = memberships_request(actor=account_manager, group=group, sessions=[session])
    membership = outcome.membership
    target = membership.target
    keys.key_pair_create(actor=account_manager, target=target)
    system = factories.FrontEndSystemFactory(entity=group.entity, name="Desk", version="1.0", vendor="ACME")
    certification = temporary_targets.certification_request(
        actor=account_manager,
        entity=group.entity,
        front_end_system=system,
        venue=factories.venue("CME"),
        gateway_type=GatewayType.CGW,
    )
    address = target.addresses.order_by("id").first()
    ConnectivityCheck.objects.create(
        target=target,
        ip=address.ip,
        role=address.role,
        outcome="ok",
        rtt_ms=1.5,
        checked_at=timezone.now(),
    )
    users.api_token_create(username="am", password="s3cret-Pa55word")
    schedule = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(
        name="every five minutes", task="dropcopy_admin.tasks.verify_targets", interval=schedule
    )
    CrontabSchedule.objects.create(minute="15", hour="6", day_of_month="1")
    return {"group": group, "membership": membership, "target": target, "certification": certification}


# --- the title -------------------------------------------------------------------------------------


def test_the_admin_is_titled_drop_copy_manager(am_client):
    response = am_client.get(reverse("admin:index"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<title>Administration | Drop Copy Manager</title>" in body
    assert '<a href="/admin/">Drop Copy Manager</a>' in body
    assert "Django administration" not in body and "Django site admin" not in body


# --- no rule ids, no error codes ----------------------------------------------------------------


def _pages_of_every_model(user) -> list[str]:
    """Each registered model's list, its add form if it has one, and the change page of one object."""
    request = RequestFactory().get("/admin/")
    request.user = user
    pages = [reverse("admin:index")]
    for model, model_admin in admin.site._registry.items():
        if not model_admin.has_view_permission(request):
            continue
        pages.append(_url(model, "changelist"))
        if model_admin.has_add_permission(request):
            pages.append(_url(model, "add"))
        obj = model_admin.get_queryset(request).first()
        if obj is not None:
            pages.append(_url(model, "change", obj.pk))
    return pages


def test_no_admin_page_shows_a_rule_id_or_an_error_code(am_client, account_manager, world):
    pages = _pages_of_every_model(account_manager)
    assert _url(KeyPair, "change", KeyPair.objects.filter(is_probe=False).get().pk) in pages
    assert _url(DropCopyGroup, "change", world["group"].pk) in pages
    for page in pages:
        response = am_client.get(page)
        assert response.status_code == 200, page
        text = visible_text(response)
        assert not RULE_ID.search(text), (page, RULE_ID.search(text).group())
        assert not ERROR_CODE.search(text), (page, ERROR_CODE.search(text).group())
        assert not BRACKETED_CODE.search(text), (page, BRACKETED_CODE.search(text).group())


def test_a_refused_admin_action_says_why_in_words_without_its_code(am_client):
    group = factories.GroupFactory(name="Closed already")
    group.status, group.closed_at = GroupStatus.CLOSED, group.opened_at
    group.save()
    response = am_client.post(
        _url(DropCopyGroup, "changelist"),
        {"action": "close_groups", "_selected_action": [group.pk], "confirm": "yes", "at_0": "", "at_1": ""},
        follow=True,
    )
    shown = [str(message) for message in response.context["messages"]]
    assert len(shown) == 1 and shown[0].startswith(f"Closed already ({group.entity.code}): "), shown
    assert "already closed" in shown[0]
    assert not ERROR_CODE.search(shown[0]) and "invalid_transition" not in shown[0]


def test_the_target_address_list_is_spelled_right(am_client):
    response = am_client.get(_url(TargetAddress, "changelist"))
    assert "Target addresses" in visible_text(response)
    assert "addresss" not in response.content.decode().lower()


# --- objects named by what people know them by ----------------------------------------------------


def test_objects_are_named_by_what_people_know_them_by(world, account_manager):
    group, membership, target = world["group"], world["membership"], world["target"]
    assert str(group) == "Alpha CME Production (ALPHA)"
    assert str(membership) == "AC1ALPN in Alpha CME Production"
    assert str(membership.source_session) == "AC1ALPN (CME CGW, Production)"
    assert str(target) == target.target_comp_id
    primary = target.addresses.get(role="primary")
    assert str(primary) == f"{target.target_comp_id} primary {primary.ip}:{primary.port}"
    assert str(group.entity) == "Alpha Trading (ALPHA)"
    assert str(membership.source_session.gfid) == "GFID ALP (CME)"
    assert str(group.front_end_system).startswith(group.front_end_system.name)
    firm = factories.ClearingFirmFactory(code="CF9", name="Ninth Clearing")
    assert str(firm) == "Ninth Clearing (CF9)"

    key_pair = KeyPair.objects.get(target=target, is_probe=False)
    assert str(key_pair) == f"Key pair {key_pair.access_key_id} of {target.target_comp_id}"
    certification = world["certification"]
    assert str(certification) == "Certification of Desk 1.0 (ACME) on CME CGW"
    first_check = certification.checks.order_by("id").first()
    assert str(first_check) == f"{certification_checklist(certification)[0].label}: not shown yet"
    check = ConnectivityCheck.objects.get()
    assert str(check).startswith(f"{target.target_comp_id} {check.role} {check.ip}: OK at ")

    token = ApiToken.objects.get()
    assert str(token) == f"API token of am, created {token.created_at:%Y-%m-%d}"
    creation = AuditEvent.objects.filter(object_type="group", action="create").first() or AuditEvent.objects.first()
    assert str(creation).startswith(f"{creation.actor}: {creation.action.replace('_', ' ')} — ")
    assert "#" not in str(creation)

    assert str(CgwGateway.objects.get(venue="CME", environment="PRODUCTION", code="CGW1")) == "CME CGW1 (Production)"
    segment = SegmentGateway.objects.filter(venue="CME", environment="PRODUCTION").order_by("market_segment").first()
    assert str(segment) == f"CME segment {segment.market_segment:02d} (Production)"
    ports = PortRange.objects.get(environment="PRODUCTION")
    assert str(ports) == f"Production ports {ports.first_port}–{ports.last_port}"

    stream = SequenceStream.objects.create(target=target, reset_at=timezone.now())
    assert str(stream) == f"{target.target_comp_id} CGW: next in 1, next out 1"
    feed = FeedRequest.objects.create(target=target, count=10, seed=1, rate_per_second=5, requested_at=timezone.now())
    assert str(feed) == f"Synthetic feed to {target.target_comp_id}: 0 of 10 sent"


def test_an_audit_entry_names_its_object_kind_in_words(world):
    entry = (
        AuditEvent.objects.filter(object_type="sourcesession").first()
        or AuditEvent.objects.filter(object_type="target").first()
    )
    assert entry is not None
    assert any(name in str(entry) for name in ("source session", "target session")), str(entry)


def test_the_membership_select_boxes_and_breadcrumbs_name_objects(am_client, world):
    membership = world["membership"]
    page = am_client.get(_url(type(membership), "change", membership.pk)).content.decode()
    assert "AC1ALPN in Alpha CME Production" in page
    listing = am_client.get(_url(type(membership), "changelist")).content.decode()
    assert "AC1ALPN in Alpha CME Production" in listing
    assert " in group " not in listing


# --- the plumbing, for superusers only ------------------------------------------------------------

SUPERUSER_ONLY_PAGES = [
    (Group, "Access control"),
    (PeriodicTask, "Scheduled tasks"),
    (IntervalSchedule, "Scheduled tasks"),
    (CrontabSchedule, "Scheduled tasks"),
]


def test_superusers_see_the_permission_groups_and_the_schedule_under_named_sections(am_client, world):
    index = visible_text(am_client.get(reverse("admin:index")))
    assert "Access control" in index and "Scheduled tasks" in index
    assert "Authentication and Authorization" not in index and "Periodic Tasks" not in index
    for model, section in SUPERUSER_ONLY_PAGES:
        response = am_client.get(_url(model, "changelist"))
        assert response.status_code == 200, model
        assert section in visible_text(response)


@pytest.fixture
def finance_with_granted_permissions(finance_user):
    """Finance staff, even holding the view permissions of the plumbing's models."""
    granted = Permission.objects.filter(
        codename__in=[
            "view_group",
            "change_group",
            "view_periodictask",
            "view_intervalschedule",
            "view_crontabschedule",
        ]
    )
    finance_user.user_permissions.add(*granted)
    return finance_user


def test_staff_who_are_not_superusers_get_403_and_no_section(client, finance_with_granted_permissions, world):
    client.force_login(finance_with_granted_permissions)
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert "Access control" not in visible_text(index) and "Scheduled tasks" not in visible_text(index)
    for model, _section in SUPERUSER_ONLY_PAGES:
        assert client.get(_url(model, "changelist")).status_code == 403, model
        assert client.get(_url(model, "add")).status_code == 403, model
    assert client.get(_url(Group, "change", Group.objects.get(name=users.FINANCE_GROUP).pk)).status_code == 403
    assert client.get(reverse("admin:app_list", args=["auth"])).status_code in (403, 404)
    assert client.get(reverse("admin:app_list", args=["django_celery_beat"])).status_code in (403, 404)


# --- the API docs ---------------------------------------------------------------------------------

DOCS = "/api/v1/docs/"


def test_the_docs_send_a_visitor_who_is_not_logged_in_to_the_login_page(client):
    response = client.get(DOCS)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/api/v1/docs/"


def test_after_logging_in_the_visitor_lands_back_on_the_docs(client, client_user):
    login_page = client.get("/accounts/login/?next=/api/v1/docs/")
    assert login_page.status_code == 200
    assert 'name="next" value="/api/v1/docs/"' in login_page.content.decode()
    response = client.post(
        "/accounts/login/", {"username": "client", "password": "s3cret-Pa55word", "next": "/api/v1/docs/"}
    )
    assert response.status_code == 302
    assert response["Location"] == DOCS
    docs = client.get(DOCS)
    assert docs.status_code == 200
    assert "swagger" in docs.content.decode().lower()


def test_the_schema_answers_the_docs_page_with_the_session_of_a_logged_in_user(client, client_user):
    client.force_login(client_user)
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "/api/v1/groups/" in response.content.decode()
