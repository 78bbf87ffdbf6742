"""Who may call which approval-workflow endpoint: a table, role × endpoint × method → answer (as in
tests/dropcopy_admin/test_permissions.py): requesting, deciding, withdrawing, in bulk or one by one,
and the target preview. What depends on the object (a client of another entity, an entity that may
not self-serve, the requester deciding its own request) stays with the endpoint's own tests."""

import pytest

from dropcopy_admin.choices import Role
from entitlements.services import memberships as services
from tests import factories
from tests.support import (
    INVALID,
    MISSING,
    NO_ACCESS,
    NOT_NOW,
    READ,
    assert_table_answer,
    cases,
    refused,
)

from .support import guaranteed_session

pytestmark = pytest.mark.django_db

API = "/api/v1/"

AM, CLIENT, CLEARING, FINANCE = Role.ACCOUNT_MANAGER, Role.CLIENT, Role.CLEARING_FIRM, Role.FINANCE

ONLY_REQUESTERS = refused("Only the group's entity or an account manager requests sessions.")
ONLY_DECIDERS = refused("Only clearing firm administrators and account managers decide requests.")
ALREADY_REQUESTED = (409, "duplicate_membership", None)


@pytest.fixture
def world(client_user, client_entity, clearing_firm):
    """The client's group, with a pending request by the client for a session its clearing firm
    guarantees: every role but finance sees the request and the group."""
    group = factories.GroupFactory(entity=client_entity, name="Main")
    session = guaranteed_session(client_entity, clearing_firm)
    pending = services.membership_request(actor=client_user, group=group, source_session=session)
    assert not pending.auto_approved
    return {"group": group.pk, "session": session.pk, "pending": pending.pk}


# (method, path, body, {role: (status, code, detail)}[, how the body is sent]). A body that needs
# the world's ids is a function of it; a string is sent as it is, and no parser reads it. A role
# the permission lets through is answered 400 or 409, so nothing is written; roles that would
# change something are left out of the row.
TABLE = [
    ("get", "memberships/", None, {AM: READ, CLIENT: READ, CLEARING: READ, FINANCE: refused(NO_ACCESS)}),
    ("get", "memberships/{pending}/", None, {AM: READ, CLIENT: READ, CLEARING: READ, FINANCE: MISSING}),
    (
        "post",
        "memberships/",
        lambda world: {"group": world["group"], "source_session": world["session"]},
        {AM: ALREADY_REQUESTED, CLIENT: ALREADY_REQUESTED, CLEARING: ONLY_REQUESTERS, FINANCE: refused(NO_ACCESS)},
    ),
    (
        "post",
        "memberships/",
        {},
        {AM: INVALID, CLIENT: INVALID, CLEARING: ONLY_REQUESTERS, FINANCE: refused(NO_ACCESS)},
    ),
    ("delete", "memberships/{pending}/", None, {CLEARING: ONLY_REQUESTERS, FINANCE: MISSING}),
    *[
        (
            "post",
            f"memberships/{{pending}}/{decision}/",
            {"reason": "x"},
            {CLIENT: ONLY_DECIDERS, FINANCE: ONLY_DECIDERS},
        )
        for decision in ("approve", "reject")
    ],
    (
        "post",
        "memberships/{pending}/revoke/",
        {"reason": "x"},
        {AM: NOT_NOW, CLIENT: ONLY_DECIDERS, CLEARING: NOT_NOW, FINANCE: ONLY_DECIDERS},
    ),
    (
        "post",
        "memberships/999999/approve/",
        "not json",
        {AM: MISSING, CLIENT: ONLY_DECIDERS, CLEARING: MISSING, FINANCE: ONLY_DECIDERS},
    ),
    (
        "post",
        "memberships/bulk/",
        "junk",
        {AM: INVALID, CLIENT: INVALID, CLEARING: ONLY_REQUESTERS, FINANCE: ONLY_REQUESTERS},
    ),
    (
        "post",
        "memberships/bulk-decide/",
        lambda world: {"memberships": [world["pending"]], "decision": "approve", "reason": "x"},
        {CLIENT: ONLY_DECIDERS, FINANCE: ONLY_DECIDERS},
    ),
    (
        "post",
        "memberships/bulk-decide/",
        "junk",
        {AM: INVALID, CLIENT: ONLY_DECIDERS, CLEARING: INVALID, FINANCE: ONLY_DECIDERS},
    ),
    (
        "post",
        "groups/{group}/target-preview/",
        lambda world: {"source_sessions": [world["session"]]},
        {AM: READ, CLIENT: READ, CLEARING: ONLY_REQUESTERS, FINANCE: ONLY_REQUESTERS},
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "role", "answer", "send_as"), cases(TABLE))
def test_each_role_gets_the_answer_the_table_gives(request, world, method, path, body, role, answer, send_as):
    assert_table_answer(request, world, method, path, body, role, answer, send_as)
