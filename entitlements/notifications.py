"""E-mails of the approval workflow (R8), sent after the deciding transaction commits.

The firm's administrators get one digest per request call listing the new pending requests on
the sessions they guarantee; the requesting user and the entity's client administrators get one
message per decision call listing what was decided. The messages are kept as outgoing e-mails
(``dropcopy_admin.services.mail``) and sent at once; one the mail server does not take is sent
later, once.
"""

from collections import defaultdict

from django.conf import settings
from django.core.mail import EmailMessage

from dropcopy_admin.choices import Role
from dropcopy_admin.models import Membership, User
from dropcopy_admin.services.common import client_administrator_emails
from dropcopy_admin.services.mail import outgoing_emails_send_now


def _line(membership: Membership) -> str:
    session = membership.source_session
    group = membership.group
    text = (
        f"- {session.sender_comp_id} ({session.venue_id} {session.gateway_type} {session.environment})"
        f" into group {group.name!r} of {group.entity.code}: {membership.status}"
    )
    return text + (f" — {membership.reason}" if membership.reason else "")


def _load(membership_ids: list[int]) -> list[Membership]:
    return list(
        Membership.objects.filter(pk__in=membership_ids)
        .select_related("source_session", "group", "group__entity", "requested_by")
        .order_by("pk")
    )


def _send(messages: list[EmailMessage]) -> None:
    if messages:
        outgoing_emails_send_now(messages)


def send_pending_digest(*, membership_ids: list[int]) -> None:
    """One digest per clearing firm to its administrators, listing the new pending requests."""
    by_firm: dict[int, list[Membership]] = defaultdict(list)
    for membership in _load(membership_ids):
        by_firm[membership.source_session.clearing_firm_id].append(membership)
    admins: dict[int, list[str]] = defaultdict(list)
    firm_users = User.objects.filter(role=Role.CLEARING_FIRM, is_active=True, clearing_firm_id__in=list(by_firm))
    for user in firm_users.exclude(email=""):
        admins[user.clearing_firm_id].append(user.email)
    messages = [
        EmailMessage(
            subject=f"Drop Copy: {len(items)} request(s) await your approval",
            body="These Drop Copy requests copy sessions your firm guarantees:\n\n"
            + "\n".join(_line(m) for m in items)
            + "\n\nApprove or reject them in your approval queue.",
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=sorted(admins[firm_id]),
        )
        for firm_id, items in sorted(by_firm.items())
        if admins.get(firm_id)
    ]
    _send(messages)


def send_decisions(*, membership_ids: list[int]) -> None:
    """One message per recipient: the requesting user and the entity's client administrators."""
    memberships = _load(membership_ids)
    entity_ids = {m.group.entity_id for m in memberships}
    clients = client_administrator_emails(entity_ids)
    by_recipient: dict[str, list[Membership]] = defaultdict(list)
    for membership in memberships:
        recipients = set(clients[membership.group.entity_id])
        if membership.requested_by.email:
            recipients.add(membership.requested_by.email)
        for address in recipients:
            by_recipient[address].append(membership)
    _send(
        [
            EmailMessage(
                subject=f"Drop Copy: {len(items)} request(s) decided",
                body="Decisions on Drop Copy requests:\n\n" + "\n".join(_line(m) for m in items),
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[address],
            )
            for address, items in sorted(by_recipient.items())
        ]
    )
