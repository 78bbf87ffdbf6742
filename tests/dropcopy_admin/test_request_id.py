"""Request ids (R18): taken from X-Request-ID or generated, returned on the response, written into
the audit rows of the request, and carried into the tasks it queues."""

import logging
import re
from types import SimpleNamespace

import pytest
from celery import shared_task

from dropcopy_admin import request_id
from dropcopy_admin.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db

SYSTEMS = "/api/v1/front-end-systems/"
GENERATED = re.compile(r"^[0-9a-f]{32}$")


def create_system(api, name="Desk", **headers):
    return api.post(SYSTEMS, {"name": name, "version": "1", "vendor": "V"}, format="json", **headers)


def test_an_incoming_request_id_is_returned_and_audited(client_api):
    response = create_system(client_api, HTTP_X_REQUEST_ID="abc-123.def:9_Z")

    assert response.status_code == 201, response.json()
    assert response["X-Request-ID"] == "abc-123.def:9_Z"
    assert AuditEvent.objects.get().request_id == "abc-123.def:9_Z"


def test_a_request_without_an_id_gets_a_generated_one_that_is_audited(client_api):
    response = create_system(client_api)

    generated = response["X-Request-ID"]
    assert GENERATED.match(generated)
    assert AuditEvent.objects.get().request_id == generated


def test_each_request_gets_its_own_generated_id(client_api):
    first = create_system(client_api, name="One")["X-Request-ID"]
    second = create_system(client_api, name="Two")["X-Request-ID"]

    assert first != second
    assert sorted(AuditEvent.objects.values_list("request_id", flat=True)) == sorted([first, second])


def test_every_row_a_request_writes_carries_its_id(client_api, client_entity):
    group = factories.GroupFactory(entity=client_entity)
    factories.MembershipFactory(group=group)
    factories.MembershipFactory(group=group, status="approved")

    response = client_api.post(f"/api/v1/groups/{group.pk}/close/", format="json", HTTP_X_REQUEST_ID="close-7")

    assert response.status_code == 200, response.json()
    assert AuditEvent.objects.count() == 3
    assert set(AuditEvent.objects.values_list("request_id", flat=True)) == {"close-7"}


@pytest.mark.parametrize(
    "offered",
    [
        "x" * 65,
        "has space",
        "semi;colon",
        "new\nline",
        "trailing-newline\n",
        "caf\u00e9",
        "<script>",
        "",
    ],
)
def test_an_unacceptable_incoming_id_is_replaced_by_a_generated_one(client_api, offered):
    response = create_system(client_api, HTTP_X_REQUEST_ID=offered)

    assert response.status_code == 201, response.content
    assert GENERATED.match(response["X-Request-ID"])
    assert AuditEvent.objects.get().request_id == response["X-Request-ID"]


def test_the_longest_acceptable_id_is_kept(client_api):
    offered = "a" * 64

    assert create_system(client_api, HTTP_X_REQUEST_ID=offered)["X-Request-ID"] == offered


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/groups/999999/", 404),
        ("/api/v1/groups/?venue=NOPE", 400),
        ("/api/v1/nowhere/", 404),
    ],
)
def test_error_answers_carry_the_request_id(client_api, path, status):
    response = client_api.get(path, HTTP_X_REQUEST_ID="err-1")

    assert response.status_code == status
    assert response["X-Request-ID"] == "err-1"


def test_unauthenticated_answers_carry_a_request_id(client):
    response = client.get("/api/v1/groups/")

    assert response.status_code == 401
    assert GENERATED.match(response["X-Request-ID"])


def test_the_id_is_unbound_after_the_request(client_api):
    create_system(client_api, HTTP_X_REQUEST_ID="scoped-1")

    assert request_id.get_request_id() is None


def test_log_lines_carry_the_request_id():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "message", None, None)
    log_filter = request_id.RequestIdLogFilter()

    token = request_id.current_request_id.set("log-1")
    try:
        assert log_filter.filter(record)
        assert record.request_id == "log-1"
    finally:
        request_id.current_request_id.reset(token)

    assert log_filter.filter(record)
    assert record.request_id == "-"


@shared_task
def _report_request_id():
    return request_id.get_request_id()


def test_a_task_queued_by_a_request_runs_under_its_id():
    token = request_id.current_request_id.set("task-1")
    try:
        result = _report_request_id.delay()
    finally:
        request_id.current_request_id.reset(token)

    assert result.get() == "task-1"


def test_a_published_task_carries_the_id_in_its_headers():
    headers: dict = {}
    token = request_id.current_request_id.set("pub-1")
    try:
        request_id._stamp_request_id_on_task(headers=headers)
    finally:
        request_id.current_request_id.reset(token)

    assert headers == {request_id.TASK_HEADER: "pub-1"}


def test_a_task_published_outside_a_request_carries_no_id():
    headers: dict = {}

    request_id._stamp_request_id_on_task(headers=headers)

    assert headers == {}


def test_a_worker_binds_the_id_for_the_task_and_unbinds_it_after():
    task = SimpleNamespace(request=SimpleNamespace(headers={request_id.TASK_HEADER: "worker-1"}))

    request_id._bind_request_id_in_task(task_id="t1", task=task)
    try:
        assert request_id.get_request_id() == "worker-1"
    finally:
        request_id._unbind_request_id_in_task(task_id="t1")

    assert request_id.get_request_id() is None


def test_a_worker_reads_the_id_from_the_task_request_attribute():
    task = SimpleNamespace(request=SimpleNamespace(headers=None, **{request_id.TASK_HEADER: "worker-2"}))

    request_id._bind_request_id_in_task(task_id="t2", task=task)
    try:
        assert request_id.get_request_id() == "worker-2"
    finally:
        request_id._unbind_request_id_in_task(task_id="t2")
