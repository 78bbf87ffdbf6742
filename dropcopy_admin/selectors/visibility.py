"""Who may see what — decided here, and only here (api-contract.md, "Who may do what").

``visible(user, Model)`` returns the queryset of ``Model`` rows the user may read, or ``None``
when the user's role has no access to that resource at all (lists then answer 403, single
objects 404). Every list, every detail and every id inside a request body goes through it.
"""

from django.db import models

from dropcopy_admin.choices import Role
from dropcopy_admin.models import (
    AuditEvent,
    Certification,
    CgwGateway,
    ClearingFirm,
    DropCopyGroup,
    Entity,
    FrontEndSystem,
    Gfid,
    KeyPair,
    Membership,
    SegmentGateway,
    SourceSession,
    TargetSession,
    User,
    Venue,
)
from dropcopy_admin.models.audit import audit_object_type

REFERENCE_MODELS = (Venue, CgwGateway, SegmentGateway)
BILLING_OBJECT_TYPES = ("tariff", "billingrun", "billingline", "adjustment")


def role_of(user) -> str | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return user.effective_role


def _client_rule(user, model) -> models.Q | None:
    entity_id = user.entity_id
    firm_id = Entity.objects.filter(pk=entity_id).values("clearing_firm_id")
    guaranteed_by_entity = models.Q(clearing_firm_id__in=firm_id) & models.Q(clearing_firm__isnull=False)
    rules = {
        Entity: models.Q(pk=entity_id),
        ClearingFirm: (
            models.Q(pk__in=firm_id)
            | models.Q(pk__in=Gfid.objects.filter(entity_id=entity_id).values("clearing_firm_id"))
            | models.Q(pk__in=SourceSession.objects.filter(gfid__entity_id=entity_id).values("clearing_firm_id"))
        ),
        Gfid: models.Q(entity_id=entity_id),
        SourceSession: models.Q(gfid__entity_id=entity_id) | guaranteed_by_entity,
        DropCopyGroup: models.Q(entity_id=entity_id),
        Membership: models.Q(group__entity_id=entity_id),
        FrontEndSystem: models.Q(entity_id=entity_id) | models.Q(entity__isnull=True),
        TargetSession: models.Q(entity_id=entity_id),
        KeyPair: models.Q(target__entity_id=entity_id, is_probe=False),
        Certification: models.Q(entity_id=entity_id),
    }
    return rules.get(model)


def _clearing_firm_rule(user, model) -> models.Q | None:
    firm_id = user.clearing_firm_id
    firm_sessions = SourceSession.objects.filter(clearing_firm_id=firm_id)
    groups_holding_firm_sessions = Membership.objects.filter(source_session__clearing_firm_id=firm_id).values(
        "group_id"
    )
    rules = {
        Entity: (
            models.Q(clearing_firm_id=firm_id)
            | models.Q(pk__in=Gfid.objects.filter(clearing_firm_id=firm_id).values("entity_id"))
            | models.Q(pk__in=DropCopyGroup.objects.filter(pk__in=groups_holding_firm_sessions).values("entity_id"))
        ),
        ClearingFirm: models.Q(pk=firm_id),
        Gfid: models.Q(clearing_firm_id=firm_id),
        SourceSession: models.Q(pk__in=firm_sessions.values("pk")),
        DropCopyGroup: models.Q(pk__in=groups_holding_firm_sessions),
        Membership: models.Q(source_session__clearing_firm_id=firm_id),
    }
    return rules.get(model)


def _finance_rule(user, model) -> models.Q | None:
    return {Entity: models.Q(), DropCopyGroup: models.Q()}.get(model)


_RULES = {
    Role.CLIENT: _client_rule,
    Role.CLEARING_FIRM: _clearing_firm_rule,
    Role.FINANCE: _finance_rule,
}


def visible(user, model: type[models.Model]) -> models.QuerySet | None:
    """The rows of ``model`` that ``user`` may read, or ``None`` if the role has no access."""
    role = role_of(user)
    if role is None:
        return None
    if model is AuditEvent:
        return visible_audit_events(user)
    if role == Role.ACCOUNT_MANAGER or model in REFERENCE_MODELS:
        return model._default_manager.all()
    if model is User:
        return None
    rule = _RULES[role](user, model)
    if rule is None:
        return None
    return model._default_manager.filter(rule)


AUDITED_DOMAIN_MODELS = (
    Entity,
    ClearingFirm,
    Gfid,
    SourceSession,
    FrontEndSystem,
    DropCopyGroup,
    Membership,
    TargetSession,
    KeyPair,
    Certification,
)


def visible_audit_events(user) -> models.QuerySet | None:
    """The trail of what the user can read; finance reads the billing trail."""
    role = role_of(user)
    if role is None:
        return None
    events = AuditEvent.objects.all()
    if role == Role.ACCOUNT_MANAGER:
        return events
    if role == Role.FINANCE:
        return events.filter(object_type__in=BILLING_OBJECT_TYPES)
    readable = models.Q(pk__in=[])
    for model in AUDITED_DOMAIN_MODELS:
        rows = visible(user, model)
        if rows is not None:
            readable |= models.Q(object_type=audit_object_type(model), object_id__in=rows.values("pk"))
    return events.filter(readable)


def can_see(user, instance: models.Model) -> bool:
    rows = visible(user, type(instance))
    return rows is not None and rows.filter(pk=instance.pk).exists()
