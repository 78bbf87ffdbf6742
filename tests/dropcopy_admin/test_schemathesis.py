"""The whole API schema fuzzed by schemathesis for every role and for an anonymous caller (issue 13,
"zero 5xx from any input"): no answer is a server error, and every answer — its status, its
content type and its body — is one the served schema documents.

Each operation gets a bounded number of generated cases (``CASES_PER_OPERATION``), valid and
invalid ones, sent through the project's WSGI application with the role's API token; the world
they meet is small but real (an entity of each kind, a group, a source session, a target, a
billing run), so that ids in paths sometimes name objects. Failures are collected, not raised
one by one, so that a run names every operation that broke; the case count per role is printed.
"""

import datetime as dt
import json
from collections import Counter

import hypothesis
import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, strategies
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from billing.choices import LineReason
from billing.models import BillingLine, BillingRun
from dropcopy_admin.choices import Environment
from dropcopy_admin.services import users
from tests import factories

pytestmark = pytest.mark.django_db

CASES_PER_OPERATION = 10
BILLED_MONTH = dt.date(2026, 1, 1)  # the small world's billing run: paths naming a month name it at times
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
PASSWORD = "s3cret-Pa55word"  # tests.factories.UserFactory's
ROLES = ["account_manager", "client_user", "clearing_user", "finance_user", None]


@pytest.fixture
def served_schema(account_manager):
    """The schema exactly as /api/v1/schema/ serves it."""
    client = APIClient()
    client.force_authenticate(account_manager)
    response = client.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    return schemathesis.openapi.from_dict(json.loads(response.content))


@pytest.fixture
def small_world(client_entity, clearing_firm):
    """A little of everything, so that generated ids sometimes name a real object."""
    gfid = factories.GfidFactory(entity=client_entity, clearing_firm=clearing_firm)
    desk = factories.FrontEndSystemFactory(entity=client_entity)
    group = factories.GroupFactory(entity=client_entity, front_end_system=desk, environment=Environment.NEW_RELEASE)
    session = factories.SourceSessionFactory(gfid=gfid, environment=Environment.NEW_RELEASE)
    factories.MembershipFactory(group=group, source_session=session)
    run = BillingRun.objects.create(month=BILLED_MONTH)
    BillingLine.objects.create(
        run=run, entity=client_entity, bill_to=client_entity, group=group, amount="0.00", reason=LineReason.FREE
    )


def _token(user) -> str:
    return users.api_token_create(username=user.username, password=PASSWORD)


def _run_operation(operation, app, headers: dict, failures: list) -> int:
    """Up to ``CASES_PER_OPERATION`` cases of one operation; returns how many ran."""
    ran = 0

    modes = [
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    ]
    if "{month}" in operation.path:
        month = f"{BILLED_MONTH:%Y-%m}"
        modes.append(operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters={"month": month}))

    @hypothesis.settings(
        max_examples=CASES_PER_OPERATION,
        phases=[Phase.explicit, Phase.generate],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=strategies.one_of(*modes))
    def run(case):
        nonlocal ran
        ran += 1
        response = case.call(app=app, headers=headers)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as failure:  # every check's failure, with the case showing it
            failures.append(f"{operation.label}: {response.status_code} {failure}\n{case.as_curl_command()}")

    run()
    return ran


@pytest.mark.parametrize("role", ROLES, ids=[role or "anonymous" for role in ROLES])
def test_every_operation_answers_as_documented(request, role, served_schema, small_world, capsys):
    app = WSGIHandler()
    # As Django's test client does: the test's database connection stays open between requests.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
        request.addfinalizer(lambda signal=signal: signal.connect(close_old_connections))
    headers = {}
    if role is not None:
        headers["Authorization"] = f"Token {_token(request.getfixturevalue(role))}"
    failures: list[str] = []
    cases = Counter()

    for result in served_schema.get_all_operations():
        operation = result.ok()
        cases[operation.label] = _run_operation(operation, app, headers, failures)

    with capsys.disabled():
        print(f"\nschemathesis: {role or 'anonymous'}: {sum(cases.values())} cases over {len(cases)} operations")
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures[:40])
