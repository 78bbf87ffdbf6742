"""Certifications (R9): a request opens a temporary AutoCert+ target (CERT, ready in 48 h, expiring
14 days after the request) with the five checks; account managers pass or fail it with a note while
it is ``requested`` (also after its target expired), which rescinds the target (closed, keys
revoked, port freed). The API (certifications/), visibility per role, and the admin."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from dropcopy_admin import clock, tasks
from dropcopy_admin.choices import (
    CertificationCheckName,
    CertificationStatus,
    Environment,
    GatewayType,
    Role,
    TargetStatus,
    TemporaryKind,
)
from dropcopy_admin.models import (
    AuditEvent,
    CgwGateway,
    KeyPair,
    PortRange,
    SegmentGateway,
    TargetAddress,
    TargetSession,
)
from dropcopy_admin.models.audit import audit_object_type
from dropcopy_admin.services.keys import key_pair_create
from dropcopy_admin.services.targets import target_provision
from dropcopy_admin.tasks import PROVISIONING
from entitlements import tasks as entitlements_tasks
from entitlements.models import Certification, CertificationCheck
from entitlements.services.temporary_targets import (
    certification_decide,
    certification_request,
    temporary_target_rescind,
    temporary_targets_expire,
)
from tests import factories
from tests.support import assert_error

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)
CERTIFICATIONS = "/api/v1/certifications/"
CHECK_NAMES = [
    "signed_logon",
    "heartbeats",
    "test_request",
    "resend_recovery",
    "midweek_logon",
]
CERTIFICATION_FIELDS = {
    "id",
    "entity",
    "front_end_system",
    "venue",
    "gateway_type",
    "status",
    "target",
    "checks",
    "note",
    "requested_at",
    "requested_by",
    "decided_at",
    "decided_by",
}


@pytest.fixture(autouse=True)
def frozen_clock():
    clock.freeze(START)


@pytest.fixture
def system(client_entity):
    return factories.FrontEndSystemFactory(entity=client_entity, name="Desk", version="2.1", vendor="ACME")


@pytest.fixture
def vendor_system(db):
    return factories.FrontEndSystemFactory(entity=None, name="VendorFE", version="9", vendor="Vend")


def request_cert(actor, entity, system, venue="CME", gateway_type=GatewayType.CGW) -> Certification:
    return certification_request(
        actor=actor, entity=entity, front_end_system=system, venue=factories.venue(venue), gateway_type=gateway_type
    )


def cert_url(certification, action: str = "") -> str:
    pk = certification.pk if hasattr(certification, "pk") else certification
    return f"{CERTIFICATIONS}{pk}/" + (f"{action}/" if action else "")


def provisioned_with_client_key(certification, client_user) -> TargetSession:
    target_provision(actor=PROVISIONING, target_id=certification.target_id)
    key_pair_create(actor=client_user, target=certification.target)
    return TargetSession.objects.get(pk=certification.target_id)


def assert_rescinded(target_id: int, at: dt.datetime) -> None:
    target = TargetSession.objects.get(pk=target_id)
    assert target.status == TargetStatus.CLOSED
    assert target.closed_at == at
    assert not TargetAddress.objects.filter(target=target, released=False).exists()
    assert KeyPair.objects.filter(target=target).exists()
    assert not KeyPair.objects.filter(target=target, revoked_at__isnull=True).exists()


# --- requesting -------------------------------------------------------------------------------


def test_a_cgw_request_opens_an_autocert_target_on_the_first_cert_cgw_gateway(
    client_user, client_entity, system, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(tasks.provision_target, "delay", lambda target_id: queued.append(target_id))
    with django_capture_on_commit_callbacks(execute=True):
        certification = request_cert(client_user, client_entity, system)
    target = certification.target
    first_gateway = CgwGateway.objects.filter(venue_id="CME", environment=Environment.CERT).order_by("pk").first()
    port_range = PortRange.objects.get(environment=Environment.CERT)
    assert certification.status == CertificationStatus.REQUESTED
    assert certification.requested_at == START and certification.requested_by == client_user
    assert (target.group, target.entity, target.environment) == (None, client_entity, Environment.CERT)
    assert target.temporary == TemporaryKind.AUTOCERT
    assert target.status == TargetStatus.PENDING
    assert target.cgw_gateway == first_gateway
    assert target.ready_at == START + dt.timedelta(hours=48)
    assert target.expires_at == START + dt.timedelta(days=14)
    assert port_range.first_port <= target.port <= port_range.last_port
    assert (target.capacity, target.used) == (1000, 0)
    assert sorted(TargetAddress.objects.filter(target=target).values_list("ip", flat=True)) == sorted(
        [first_gateway.primary_ip, first_gateway.backup_ip]
    )
    checks = list(CertificationCheck.objects.filter(certification=certification).order_by("id"))
    assert [check.name for check in checks] == CHECK_NAMES
    assert all(check.passed_at is None for check in checks)
    assert queued == [target.pk]


def test_an_msgw_request_listens_on_every_cert_segment_gateway(account_manager, client_entity, system):
    certification = request_cert(account_manager, client_entity, system, venue="EBS", gateway_type=GatewayType.MSGW)
    segments = SegmentGateway.objects.filter(venue_id="EBS", environment=Environment.CERT)
    addresses = TargetAddress.objects.filter(target=certification.target)
    assert certification.target.cgw_gateway is None
    assert addresses.count() == 2 * segments.count()
    assert set(addresses.values_list("ip", flat=True)) == {s.primary_ip for s in segments} | {
        s.backup_ip for s in segments
    }


def test_a_second_requested_certification_of_the_same_system_venue_and_type_is_already_exists(
    client_user, client_entity, system
):
    request_cert(client_user, client_entity, system)
    with pytest.raises(Exception) as refused:
        request_cert(client_user, client_entity, system)
    assert refused.value.code == "already_exists"
    assert Certification.objects.count() == 1
    assert TargetSession.objects.count() == 1
    # another gateway type, or after a decision, is a new request
    request_cert(client_user, client_entity, system, gateway_type=GatewayType.MSGW)


def test_a_vendor_system_may_be_certified_by_a_client(client_user, client_entity, vendor_system):
    certification = request_cert(client_user, client_entity, vendor_system)
    assert certification.entity == client_entity


def test_the_request_is_audited_with_the_target_and_the_checks(client_user, client_entity, system):
    certification = request_cert(client_user, client_entity, system)
    event = AuditEvent.objects.get(object_type=audit_object_type(Certification), object_id=certification.pk)
    assert (event.actor, event.action, event.before) == ("client", "create", None)
    assert event.after["status"] == "requested" and event.after["target_id"] == certification.target_id
    assert AuditEvent.objects.filter(object_type=audit_object_type(TargetSession), action="open").count() == 1
    assert AuditEvent.objects.filter(object_type=audit_object_type(CertificationCheck)).count() == 5


# --- deciding ---------------------------------------------------------------------------------


@pytest.mark.parametrize("passed", [True, False], ids=["pass", "fail"])
def test_a_decision_records_who_when_and_why_and_rescinds_the_target(
    account_manager, client_user, client_entity, system, passed
):
    certification = request_cert(client_user, client_entity, system)
    target = provisioned_with_client_key(certification, client_user)
    port = target.port
    clock.advance(dt.timedelta(days=3))
    decided = certification_decide(actor=account_manager, certification=certification, passed=passed, note=" fine ")
    assert decided.status == (CertificationStatus.PASSED if passed else CertificationStatus.FAILED)
    assert (decided.decided_by, decided.decided_at, decided.note) == (account_manager, clock.now(), "fine")
    assert_rescinded(target.pk, clock.now())
    event = AuditEvent.objects.get(object_type=audit_object_type(Certification), action="pass" if passed else "fail")
    assert event.actor == "am"
    assert event.before["status"] == "requested"
    assert event.after["status"] == decided.status and event.after["note"] == "fine"
    # the port is free again: the next AutoCert+ target on the same gateway takes it
    again = request_cert(client_user, client_entity, system)
    assert again.target.port == port


def test_a_decision_after_the_target_expired_is_allowed_and_closes_nothing_twice(
    account_manager, client_user, client_entity, system
):
    certification = request_cert(client_user, client_entity, system)
    clock.advance(dt.timedelta(days=14))
    assert temporary_targets_expire(actor=account_manager) == 1
    closed_at = TargetSession.objects.get(pk=certification.target_id).closed_at
    decided = certification_decide(actor=account_manager, certification=certification, passed=True, note="ok")
    assert decided.status == CertificationStatus.PASSED
    assert TargetSession.objects.get(pk=certification.target_id).closed_at == closed_at
    assert AuditEvent.objects.filter(object_type=audit_object_type(TargetSession), action="close").count() == 1


@pytest.mark.parametrize("first", [True, False], ids=["passed", "failed"])
def test_a_decided_certification_is_not_decided_again(account_manager, client_user, client_entity, system, first):
    certification = request_cert(client_user, client_entity, system)
    certification_decide(actor=account_manager, certification=certification, passed=first, note="done")
    for passed in (True, False):
        with pytest.raises(Exception) as refused:
            certification_decide(actor=account_manager, certification=certification, passed=passed, note="again")
        assert refused.value.code == "invalid_transition"


def test_a_decision_needs_a_note_and_an_account_manager(account_manager, client_user, client_entity, system):
    certification = request_cert(client_user, client_entity, system)
    with pytest.raises(Exception) as refused:
        certification_decide(actor=account_manager, certification=certification, passed=True, note="   ")
    assert refused.value.code == "invalid"
    with pytest.raises(Exception) as refused:
        certification_decide(actor=client_user, certification=certification, passed=True, note="self")
    assert refused.value.code == "permission_denied"
    assert Certification.objects.get(pk=certification.pk).status == CertificationStatus.REQUESTED


def test_rescinding_the_target_leaves_the_certification_to_be_decided(
    account_manager, client_user, client_entity, system
):
    certification = request_cert(client_user, client_entity, system)
    target = provisioned_with_client_key(certification, client_user)
    temporary_target_rescind(actor=account_manager, target=target)
    assert_rescinded(target.pk, START)
    assert Certification.objects.get(pk=certification.pk).status == CertificationStatus.REQUESTED
    with pytest.raises(Exception) as refused:
        temporary_target_rescind(actor=account_manager, target=target)
    assert refused.value.code == "invalid_transition"
    decided = certification_decide(actor=account_manager, certification=certification, passed=False, note="no show")
    assert decided.status == CertificationStatus.FAILED


def test_the_target_expires_14_days_after_the_request_by_the_scheduled_task(client_user, client_entity, system):
    certification = request_cert(client_user, client_entity, system)
    target = provisioned_with_client_key(certification, client_user)
    clock.advance(dt.timedelta(days=14) - dt.timedelta(seconds=1))
    assert entitlements_tasks.expire_temporary_targets() == 0
    clock.advance(dt.timedelta(seconds=1))
    assert entitlements_tasks.expire_temporary_targets() == 1
    assert entitlements_tasks.expire_temporary_targets() == 0
    assert_rescinded(target.pk, START + dt.timedelta(days=14))
    assert Certification.objects.get(pk=certification.pk).status == CertificationStatus.REQUESTED
    event = AuditEvent.objects.get(object_type=audit_object_type(TargetSession), action="close")
    assert event.actor == "system:expire_temporary_targets"
    assert event.before["status"] == "provisioned" and event.after["status"] == "closed"


# --- API --------------------------------------------------------------------------------------


def test_a_client_requests_a_certification_for_its_entity_by_default(client_api, client_entity, system):
    response = client_api.post(
        CERTIFICATIONS, {"front_end_system": system.pk, "venue": "CME", "gateway_type": "CGW"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == CERTIFICATION_FIELDS
    assert body["entity"] == client_entity.pk and body["status"] == "requested" and body["note"] == ""
    assert body["checks"] == [{"name": name, "passed_at": None} for name in CHECK_NAMES]
    target = TargetSession.objects.get(pk=body["target"])
    assert target.temporary == "autocert"
    assert body["requested_at"] == "2026-03-02T14:00:00Z"


def test_checks_show_when_they_passed_in_choice_order(client_api, client_user, client_entity, system):
    certification = request_cert(client_user, client_entity, system)
    CertificationCheck.objects.filter(certification=certification, name=CertificationCheckName.TEST_REQUEST).update(
        passed_at=START + dt.timedelta(hours=50)
    )
    checks = client_api.get(cert_url(certification)).json()["checks"]
    assert [c["name"] for c in checks] == CHECK_NAMES
    assert {c["name"]: c["passed_at"] for c in checks}["test_request"] == "2026-03-04T16:00:00Z"
    assert sum(c["passed_at"] is not None for c in checks) == 1


def test_an_account_manager_gives_the_entity_and_a_system_of_another_entity_is_invalid(am_api, client_entity, system):
    other = factories.FrontEndSystemFactory()
    response = am_api.post(
        CERTIFICATIONS,
        {"entity": client_entity.pk, "front_end_system": other.pk, "venue": "CME", "gateway_type": "CGW"},
        format="json",
    )
    assert assert_error(response, 400, "invalid")["errors"]["front_end_system"]
    response = am_api.post(
        CERTIFICATIONS, {"front_end_system": system.pk, "venue": "CME", "gateway_type": "CGW"}, format="json"
    )
    assert assert_error(response, 400, "invalid")["errors"]["entity"]
    assert not Certification.objects.exists()


def test_a_client_may_not_use_another_entitys_system_or_entity(client_api, client_entity):
    other_entity = factories.EntityFactory()
    other_system = factories.FrontEndSystemFactory(entity=other_entity)
    response = client_api.post(
        CERTIFICATIONS, {"front_end_system": other_system.pk, "venue": "CME", "gateway_type": "CGW"}, format="json"
    )
    assert assert_error(response, 400, "invalid")["errors"]["front_end_system"]
    mine = factories.FrontEndSystemFactory(entity=client_entity)
    response = client_api.post(
        CERTIFICATIONS,
        {"entity": other_entity.pk, "front_end_system": mine.pk, "venue": "CME", "gateway_type": "CGW"},
        format="json",
    )
    assert assert_error(response, 400, "invalid")["errors"]["entity"]


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"venue": "EBS Direct", "gateway_type": "CGW"}, 400, "venue_not_supported"),
        ({"venue": "BROKERTEC", "gateway_type": "CGW"}, 400, "gateway_type_not_supported"),
        ({"venue": "CME", "gateway_type": "XGW"}, 400, "invalid"),
        ({"venue": "CME"}, 400, "invalid"),
        ({"venue": ["CME"], "gateway_type": "CGW"}, 400, "venue_not_supported"),
        ({"venue": "CME", "gateway_type": "CGW", "front_end_system": "x"}, 400, "invalid"),
        ({"venue": "CME", "gateway_type": "CGW", "front_end_system": 10**12}, 400, "invalid"),
        ({"venue": "CME", "gateway_type": "CGW", "front_end_system": True}, 400, "invalid"),
    ],
)
def test_bad_input_is_refused_never_a_500(client_api, system, body, status, code):
    body = {"front_end_system": system.pk, **body}
    assert_error(client_api.post(CERTIFICATIONS, body, format="json"), status, code)
    assert not Certification.objects.exists()


def test_malformed_json_and_bad_filters_are_invalid(client_api):
    assert_error(client_api.post(CERTIFICATIONS, "{", content_type="application/json"), 400, "invalid")
    assert_error(client_api.post(CERTIFICATIONS, "[]", content_type="application/json"), 400, "invalid")
    assert_error(client_api.get(CERTIFICATIONS + "?status=nope"), 400, "invalid")
    assert_error(client_api.get(CERTIFICATIONS + "?venue=EBS%20Direct"), 400, "invalid")


def test_a_duplicate_request_over_the_api_is_409_already_exists(client_api, system):
    body = {"front_end_system": system.pk, "venue": "CME", "gateway_type": "CGW"}
    assert client_api.post(CERTIFICATIONS, body, format="json").status_code == 201
    assert_error(client_api.post(CERTIFICATIONS, body, format="json"), 409, "already_exists")


def test_a_client_of_an_entity_without_self_service_may_not_request_on_cme(api_for, system):
    entity = factories.EntityFactory(self_service=False)
    user = factories.UserFactory(role=Role.CLIENT, entity=entity)
    mine = factories.FrontEndSystemFactory(entity=entity)
    response = api_for(user).post(
        CERTIFICATIONS, {"front_end_system": mine.pk, "venue": "CME", "gateway_type": "CGW"}, format="json"
    )
    assert_error(response, 403, "permission_denied")
    response = api_for(user).post(
        CERTIFICATIONS, {"front_end_system": mine.pk, "venue": "EBS", "gateway_type": "CGW"}, format="json"
    )
    assert response.status_code == 201, response.content


def test_account_managers_pass_and_fail_over_the_api(am_api, account_manager, client_user, client_entity, system):
    certification = request_cert(client_user, client_entity, system)
    response = am_api.post(cert_url(certification, "pass"), {"note": "all five shown"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["note"], body["decided_by"]) == ("passed", "all five shown", account_manager.pk)
    assert body["decided_at"] == "2026-03-02T14:00:00Z"
    assert TargetSession.objects.get(pk=certification.target_id).status == TargetStatus.CLOSED
    assert_error(am_api.post(cert_url(certification, "fail"), {"note": "x"}, format="json"), 409, "invalid_transition")
    other = request_cert(client_user, client_entity, system)
    response = am_api.post(cert_url(other, "fail"), {"note": "no midweek logon"}, format="json")
    assert response.json()["status"] == "failed"


@pytest.mark.parametrize("body", [{}, {"note": ""}, {"note": "   "}, {"note": None}, {"note": "x" * 1001}])
def test_a_decision_without_a_proper_note_is_invalid(am_api, client_user, client_entity, system, body):
    certification = request_cert(client_user, client_entity, system)
    assert_error(am_api.post(cert_url(certification, "pass"), body, format="json"), 400, "invalid")
    assert Certification.objects.get(pk=certification.pk).status == CertificationStatus.REQUESTED


def test_roles_per_the_contract(
    client_api, clearing_api, finance_api, client_user, client_entity, system, account_manager
):
    mine = request_cert(client_user, client_entity, system)
    stranger = factories.UserFactory(role=Role.CLIENT)
    theirs = request_cert(account_manager, stranger.entity, factories.FrontEndSystemFactory(entity=stranger.entity))
    # a client reads its entity's, cannot decide them (403), and does not see others' (404)
    assert [row["id"] for row in client_api.get(CERTIFICATIONS).json()["results"]] == [mine.pk]
    assert client_api.get(cert_url(mine)).status_code == 200
    assert_error(client_api.get(cert_url(theirs)), 404, "not_found")
    assert_error(client_api.post(cert_url(mine, "pass"), {"note": "me"}, format="json"), 403, "permission_denied")
    assert_error(client_api.post(cert_url(theirs, "pass"), {"note": "me"}, format="json"), 404, "not_found")
    assert_error(client_api.get(cert_url(10**12)), 404, "not_found")
    assert_error(client_api.get(cert_url("abc")), 404, "not_found")
    # clearing firms and finance have no access: 403 on the list and the create, 404 on items
    for api in (clearing_api, finance_api):
        assert_error(api.get(CERTIFICATIONS), 403, "permission_denied")
        assert_error(
            api.post(CERTIFICATIONS, {"front_end_system": system.pk, "venue": "CME", "gateway_type": "CGW"}),
            403,
            "permission_denied",
        )
        assert_error(api.get(cert_url(mine)), 404, "not_found")
        assert_error(api.post(cert_url(mine, "pass"), {"note": "x"}, format="json"), 404, "not_found")
    assert_error(APIClient().get(CERTIFICATIONS), 401, "not_authenticated")
    assert Certification.objects.get(pk=mine.pk).status == CertificationStatus.REQUESTED


def test_the_list_filters_and_costs_constant_queries(am_api, account_manager, client_entity, system):
    request_cert(account_manager, client_entity, system)
    with CaptureQueriesContext(connection) as one:
        assert am_api.get(CERTIFICATIONS).status_code == 200
    for index in range(4):
        entity = factories.EntityFactory()
        request_cert(
            account_manager,
            entity,
            factories.FrontEndSystemFactory(entity=entity),
            venue=("CME", "EBS")[index % 2],
            gateway_type=GatewayType.MSGW,
        )
    with CaptureQueriesContext(connection) as many:
        response = am_api.get(CERTIFICATIONS)
    assert response.json()["count"] == 5
    assert len(many) == len(one)
    assert am_api.get(CERTIFICATIONS + "?venue=EBS").json()["count"] == 2
    assert am_api.get(CERTIFICATIONS + f"?entity={client_entity.pk}").json()["count"] == 1
    assert am_api.get(CERTIFICATIONS + "?status=passed").json()["count"] == 0


def test_clients_read_their_certifications_audit_trail(client_api, client_user, client_entity, system):
    certification = request_cert(client_user, client_entity, system)
    response = client_api.get(f"/api/v1/audit/?object_type=certification&object_id={certification.pk}")
    assert response.status_code == 200
    assert [row["action"] for row in response.json()["results"]] == ["create"]


# --- admin ------------------------------------------------------------------------------------


@pytest.fixture
def am_client(client, account_manager):
    client.force_login(account_manager)
    return client


def _admin_url(view: str, *args) -> str:
    return reverse(f"admin:entitlements_certification_{view}", args=args)


def test_the_admin_list_shows_the_checklist_progress_at_constant_cost(
    am_client, account_manager, client_entity, system
):
    first = request_cert(account_manager, client_entity, system)
    CertificationCheck.objects.filter(certification=first, name__in=["signed_logon", "heartbeats"]).update(
        passed_at=START
    )
    am_client.get(_admin_url("changelist"))
    with CaptureQueriesContext(connection) as one:
        response = am_client.get(_admin_url("changelist"))
    assert response.status_code == 200
    assert "2/5" in response.content.decode()
    for _ in range(4):
        entity = factories.EntityFactory()
        request_cert(account_manager, entity, factories.FrontEndSystemFactory(entity=entity))
    with CaptureQueriesContext(connection) as many:
        response = am_client.get(_admin_url("changelist"))
    assert response.context["cl"].result_count == 5
    assert len(many) == len(one)


def test_the_admin_page_shows_each_check_read_only(am_client, account_manager, client_entity, system):
    certification = request_cert(account_manager, client_entity, system)
    CertificationCheck.objects.filter(certification=certification, name="heartbeats").update(passed_at=START)
    page = am_client.get(_admin_url("change", certification.pk)).content.decode()
    for _name, label in CertificationCheckName.choices:
        assert label.split(" ")[0] in page
    assert "not shown yet" in page
    assert 'name="note"' not in page  # nothing is written from the page itself


@pytest.mark.parametrize("action, status", [("pass_certifications", "passed"), ("fail_certifications", "failed")])
def test_admin_actions_ask_for_a_note_then_decide(am_client, account_manager, client_entity, system, action, status):
    certification = request_cert(account_manager, client_entity, system)
    selection = {"action": action, "_selected_action": [certification.pk]}
    page = am_client.post(_admin_url("changelist"), selection)
    assert page.status_code == 200 and 'name="note"' in page.content.decode()
    refused = am_client.post(_admin_url("changelist"), {**selection, "confirm": "yes", "note": ""})
    assert refused.status_code == 200 and "This field is required" in refused.content.decode()
    assert Certification.objects.get(pk=certification.pk).status == CertificationStatus.REQUESTED
    done = am_client.post(_admin_url("changelist"), {**selection, "confirm": "yes", "note": "seen"}, follow=True)
    assert done.status_code == 200
    certification.refresh_from_db()
    assert (certification.status, certification.note, certification.decided_by) == (status, "seen", account_manager)
    assert TargetSession.objects.get(pk=certification.target_id).status == TargetStatus.CLOSED
    again = am_client.post(_admin_url("changelist"), {**selection, "confirm": "yes", "note": "again"}, follow=True)
    assert any(f"The certification is already {status}." in str(m) for m in again.context["messages"])


def test_the_admin_rescinds_a_target_and_the_certification_stays_requested(
    am_client, account_manager, client_entity, system
):
    certification = request_cert(account_manager, client_entity, system)
    selection = {"action": "rescind_targets", "_selected_action": [certification.pk], "confirm": "yes"}
    am_client.post(_admin_url("changelist"), selection, follow=True)
    assert TargetSession.objects.get(pk=certification.target_id).status == TargetStatus.CLOSED
    assert Certification.objects.get(pk=certification.pk).status == CertificationStatus.REQUESTED
