"""entitlements.notifications (R8): once the transaction commits, the guaranteeing firm's
administrators get one digest per request call listing its new pending requests, and the requesting
user and the entity's client administrators get one message per decision call; nothing is sent for
a transaction that rolls back."""

import pytest
from django.core import mail
from django.db import transaction

from dropcopy_admin.choices import MembershipStatus, Role
from entitlements.choices import Decision
from entitlements.services import memberships as services
from tests import factories

from .support import admin_control_session, guaranteed_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def group(client_entity):
    return factories.GroupFactory(entity=client_entity, name="Main")


def _firm_admin(firm, username: str, **fields):
    return factories.UserFactory(role=Role.CLEARING_FIRM, clearing_firm=firm, username=username, **fields)


def _request(actor, group, sessions, capture):
    with capture(execute=True):
        outcomes = services.memberships_request(actor=actor, group=group, sessions=sessions)
    assert all(outcome.error is None for outcome in outcomes), [o.error for o in outcomes]
    return [outcome.membership for outcome in outcomes]


def _decide(actor, memberships, decision, capture, reason=""):
    with capture(execute=True):
        outcomes = services.memberships_decide(actor=actor, memberships=memberships, decision=decision, reason=reason)
    assert all(outcome.error is None for outcome in outcomes), [o.error for o in outcomes]
    return [outcome.membership for outcome in outcomes]


# --- the firm's digest of pending requests ----------------------------------------------------


def test_a_bulk_request_sends_one_digest_listing_every_pending_session_to_the_firms_administrators(
    client_user, group, clearing_firm, clearing_user, django_capture_on_commit_callbacks
):
    second_admin = _firm_admin(clearing_firm, "clearing2")
    sessions = [guaranteed_session(group.entity, clearing_firm) for _ in range(3)]
    _request(client_user, group, sessions, django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == sorted([clearing_user.email, second_admin.email])
    assert message.subject == "Drop Copy: 3 request(s) await your approval"
    for session in sessions:
        assert session.sender_comp_id in message.body
    assert "'Main'" in message.body and group.entity.code in message.body


def test_sessions_of_two_firms_send_one_digest_to_each_firm(client_user, group, django_capture_on_commit_callbacks):
    first_firm, second_firm = factories.ClearingFirmFactory(), factories.ClearingFirmFactory()
    first_admin, second_admin = _firm_admin(first_firm, "first"), _firm_admin(second_firm, "second")
    of_first = [guaranteed_session(group.entity, first_firm) for _ in range(2)]
    of_second = [guaranteed_session(group.entity, second_firm)]
    _request(client_user, group, [of_first[0], of_second[0], of_first[1]], django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 2
    by_recipient = {tuple(message.to): message for message in mail.outbox}
    to_first, to_second = by_recipient[(first_admin.email,)], by_recipient[(second_admin.email,)]
    assert all(session.sender_comp_id in to_first.body for session in of_first)
    assert of_second[0].sender_comp_id not in to_first.body
    assert of_second[0].sender_comp_id in to_second.body
    assert all(session.sender_comp_id not in to_second.body for session in of_first)


def test_auto_approved_requests_are_left_out_of_the_digest(
    client_user, group, clearing_firm, clearing_user, django_capture_on_commit_callbacks
):
    pending = guaranteed_session(group.entity, clearing_firm)
    auto = admin_control_session(group.entity, clearing_firm)
    memberships = _request(client_user, group, [pending, auto], django_capture_on_commit_callbacks)
    assert [m.status for m in memberships] == [MembershipStatus.PENDING, MembershipStatus.APPROVED]

    assert len(mail.outbox) == 1
    assert pending.sender_comp_id in mail.outbox[0].body
    assert auto.sender_comp_id not in mail.outbox[0].body
    assert mail.outbox[0].subject == "Drop Copy: 1 request(s) await your approval"


def test_a_request_call_whose_sessions_are_all_auto_approved_sends_no_digest(
    client_user, group, clearing_firm, clearing_user, django_capture_on_commit_callbacks
):
    _request(
        client_user, group, [admin_control_session(group.entity, clearing_firm)], django_capture_on_commit_callbacks
    )
    assert mail.outbox == []


def test_no_digest_when_the_firm_has_no_active_administrator_with_an_e_mail(
    client_user, group, clearing_firm, django_capture_on_commit_callbacks
):
    _firm_admin(clearing_firm, "no-mail", email="")
    _firm_admin(clearing_firm, "gone", is_active=False)
    factories.UserFactory(role=Role.CLIENT, entity=group.entity, username="not-the-firm")
    _request(client_user, group, [guaranteed_session(group.entity, clearing_firm)], django_capture_on_commit_callbacks)
    assert mail.outbox == []


# --- decisions --------------------------------------------------------------------------------


@pytest.fixture
def entity_admins(client_entity):
    """A second client administrator of the entity, one without an e-mail, one of another entity."""
    return {
        "colleague": factories.UserFactory(role=Role.CLIENT, entity=client_entity, username="colleague"),
        "no_mail": factories.UserFactory(role=Role.CLIENT, entity=client_entity, username="nomail", email=""),
        "stranger": factories.UserFactory(role=Role.CLIENT, username="stranger"),
    }


def test_a_decision_e_mails_the_requester_and_the_entitys_client_administrators_once_each(
    client_user, group, clearing_firm, clearing_user, entity_admins, django_capture_on_commit_callbacks
):
    sessions = [guaranteed_session(group.entity, clearing_firm) for _ in range(2)]
    pending = _request(client_user, group, sessions, django_capture_on_commit_callbacks)
    mail.outbox.clear()

    _decide(clearing_user, pending, Decision.APPROVE, django_capture_on_commit_callbacks)

    assert sorted(address for message in mail.outbox for address in message.to) == sorted(
        [client_user.email, entity_admins["colleague"].email]
    )
    for message in mail.outbox:
        assert message.subject == "Drop Copy: 2 request(s) decided"
        assert all(session.sender_comp_id in message.body for session in sessions)
        assert message.body.count(": approved") == 2


def test_an_account_managers_request_decided_e_mails_the_account_manager_too(
    account_manager, group, clearing_firm, clearing_user, entity_admins, django_capture_on_commit_callbacks
):
    pending = _request(
        account_manager, group, [guaranteed_session(group.entity, clearing_firm)], django_capture_on_commit_callbacks
    )
    mail.outbox.clear()

    _decide(clearing_user, pending, Decision.REJECT, django_capture_on_commit_callbacks, reason="Unknown customer")

    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == sorted([account_manager.email, entity_admins["colleague"].email])
    assert all("rejected — Unknown customer" in message.body for message in mail.outbox)


def test_a_revocation_is_a_decision_and_is_e_mailed(
    client_user, group, clearing_firm, clearing_user, django_capture_on_commit_callbacks
):
    pending = _request(
        client_user, group, [guaranteed_session(group.entity, clearing_firm)], django_capture_on_commit_callbacks
    )
    approved = _decide(clearing_user, pending, Decision.APPROVE, django_capture_on_commit_callbacks)
    mail.outbox.clear()

    _decide(clearing_user, approved, Decision.REVOKE, django_capture_on_commit_callbacks, reason="Guarantee withdrawn")

    assert [message.to for message in mail.outbox] == [[client_user.email]]
    assert "revoked — Guarantee withdrawn" in mail.outbox[0].body


def test_a_refused_decision_sends_nothing(client_user, group, clearing_firm, django_capture_on_commit_callbacks):
    pending = _request(
        client_user, group, [guaranteed_session(group.entity, clearing_firm)], django_capture_on_commit_callbacks
    )
    mail.outbox.clear()
    other_firm_admin = _firm_admin(factories.ClearingFirmFactory(), "other-firm")
    with django_capture_on_commit_callbacks(execute=True):
        (outcome,) = services.memberships_decide(actor=other_firm_admin, memberships=pending, decision=Decision.APPROVE)
    assert outcome.error is not None and outcome.error.code == "permission_denied"
    assert mail.outbox == []


# --- nothing before the commit, nothing after a rollback -----------------------------------------


def test_nothing_is_sent_before_the_transaction_commits(
    client_user, group, clearing_firm, clearing_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.memberships_request(
            actor=client_user, group=group, sessions=[guaranteed_session(group.entity, clearing_firm)]
        )
    assert mail.outbox == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert len(mail.outbox) == 1


class _Abort(Exception):
    pass


def test_nothing_is_sent_when_the_requesting_transaction_rolls_back(
    client_user, group, clearing_firm, clearing_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(_Abort), transaction.atomic():
        services.memberships_request(
            actor=client_user, group=group, sessions=[guaranteed_session(group.entity, clearing_firm)]
        )
        raise _Abort
    assert callbacks == []
    assert mail.outbox == []


def test_nothing_is_sent_when_the_deciding_transaction_rolls_back(
    client_user, group, clearing_firm, clearing_user, django_capture_on_commit_callbacks
):
    pending = _request(
        client_user, group, [guaranteed_session(group.entity, clearing_firm)], django_capture_on_commit_callbacks
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(_Abort), transaction.atomic():
        services.memberships_decide(actor=clearing_user, memberships=pending, decision=Decision.APPROVE)
        raise _Abort
    assert callbacks == []
    assert mail.outbox == []
    pending[0].refresh_from_db()
    assert pending[0].status == MembershipStatus.PENDING
