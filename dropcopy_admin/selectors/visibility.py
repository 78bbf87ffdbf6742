"""Who may see what — decided here, and only here (api-contract.md, "Who may do what").

``visible(user, Model)`` returns the queryset of ``Model`` rows the user may read, or ``None``
when the user's role has no access to that resource at all (lists then answer 403, single
objects 404). Every list, every detail and every id inside a request body goes through it.

The rules are one table, model → role → rule (a function of the user giving a ``Q``). The core
registers its own below; other apps register theirs with ``register`` from their
``AppConfig.ready()``, so this module imports none of them. The audit trail follows the rows a
role can read, unless an app registers the trail a role reads instead (``register_trail``:
finance reads billing's).
"""

from collections.abc import Callable, Iterable, Mapping

from django.core.exceptions import ImproperlyConfigured
from django.db import models

from dropcopy_admin.choices import Role
from dropcopy_admin.models import (
    AuditEvent,
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

# A rule gives, for one user, the rows of one model that user may read.
Rule = Callable[[User], models.Q]

# model → role → rule. Account managers read every row of every model and need no rule; a role
# without a rule for a model has no access to it (lists 403, items 404).
_RULES: dict[type[models.Model], dict[str, Rule]] = {}


def register(model: type[models.Model], rules: Mapping[str, Rule], *, audited: bool = False) -> None:
    """Register who, besides account managers, may read ``model``'s rows: ``{role: rule}``.

    Each app registers the rules of its own models (billing and entitlements from their
    ``AppConfig.ready()``), so this module imports none of them. A model is registered once.
    ``audited``: a domain model whose audit events a role reads along with its rows
    (``AUDITED_DOMAIN_MODELS``).
    """
    if model in _RULES:
        raise ImproperlyConfigured(f"Visibility rules for {model.__name__} are already registered.")
    unknown = sorted(set(rules) - set(Role.values))
    if unknown:
        raise ImproperlyConfigured(f"Unknown roles in the visibility rules for {model.__name__}: {unknown}.")
    if Role.ACCOUNT_MANAGER in rules:
        raise ImproperlyConfigured("Account managers read every row; their rules are not registered.")
    _RULES[model] = dict(rules)
    if audited:
        AUDITED_DOMAIN_MODELS.append(model)


# role → the audit object types that role reads the whole trail of, and no other (registered by apps).
_TRAILS: dict[str, frozenset[str]] = {}


def register_trail(role: str, object_types: Iterable[str]) -> None:
    """Register that ``role`` reads every audit event of ``object_types``, and no other event.

    A role without a registered trail reads the trail of the rows it can read. Apps register the
    object types of their own trail from ``AppConfig.ready()`` (billing: finance reads billing's
    trail); registering again for the same role adds object types.
    """
    if role not in Role.values:
        raise ImproperlyConfigured(f"Unknown role for an audit trail: {role!r}.")
    if role == Role.ACCOUNT_MANAGER:
        raise ImproperlyConfigured("Account managers read the whole trail; theirs is not registered.")
    _TRAILS[role] = _TRAILS.get(role, frozenset()) | frozenset(object_types)


def role_of(user) -> str | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return user.effective_role


def every_row(user) -> models.Q:
    return models.Q()


# The domain models whose audit events a role reads along with the rows it can read: the core's,
# then those apps register with ``register(..., audited=True)`` (entitlements: certifications).
AUDITED_DOMAIN_MODELS: list[type[models.Model]] = [
    Entity,
    ClearingFirm,
    Gfid,
    SourceSession,
    FrontEndSystem,
    DropCopyGroup,
    Membership,
    TargetSession,
    KeyPair,
]


# --- the core's rules -------------------------------------------------------------------------


def _clients_clearing_firm(user) -> models.QuerySet:
    """The id of the clearing firm that is the client's entity (none when it is not one)."""
    return Entity.objects.filter(pk=user.entity_id).values("clearing_firm_id")


def _groups_holding_firms_sessions(user) -> models.QuerySet:
    return Membership.objects.filter(source_session__clearing_firm_id=user.clearing_firm_id).values("group_id")


for _reference_model in (Venue, CgwGateway, SegmentGateway):
    register(_reference_model, {Role.CLIENT: every_row, Role.CLEARING_FIRM: every_row, Role.FINANCE: every_row})

register(
    Entity,
    {
        Role.CLIENT: lambda user: models.Q(pk=user.entity_id),
        Role.CLEARING_FIRM: lambda user: (
            models.Q(clearing_firm_id=user.clearing_firm_id)
            | models.Q(pk__in=Gfid.objects.filter(clearing_firm_id=user.clearing_firm_id).values("entity_id"))
            | models.Q(
                pk__in=DropCopyGroup.objects.filter(pk__in=_groups_holding_firms_sessions(user)).values("entity_id")
            )
        ),
        Role.FINANCE: every_row,
    },
)
register(
    ClearingFirm,
    {
        Role.CLIENT: lambda user: (
            models.Q(pk__in=_clients_clearing_firm(user))
            | models.Q(pk__in=Gfid.objects.filter(entity_id=user.entity_id).values("clearing_firm_id"))
            | models.Q(pk__in=SourceSession.objects.filter(gfid__entity_id=user.entity_id).values("clearing_firm_id"))
        ),
        Role.CLEARING_FIRM: lambda user: models.Q(pk=user.clearing_firm_id),
    },
)
register(
    Gfid,
    {
        Role.CLIENT: lambda user: models.Q(entity_id=user.entity_id),
        Role.CLEARING_FIRM: lambda user: models.Q(clearing_firm_id=user.clearing_firm_id),
    },
)
register(
    SourceSession,
    {
        # The entity's own sessions, and those its clearing firm guarantees when the entity is one.
        Role.CLIENT: lambda user: (
            models.Q(gfid__entity_id=user.entity_id)
            | (models.Q(clearing_firm_id__in=_clients_clearing_firm(user)) & models.Q(clearing_firm__isnull=False))
        ),
        Role.CLEARING_FIRM: lambda user: models.Q(
            pk__in=SourceSession.objects.filter(clearing_firm_id=user.clearing_firm_id).values("pk")
        ),
    },
)
register(
    DropCopyGroup,
    {
        Role.CLIENT: lambda user: models.Q(entity_id=user.entity_id),
        Role.CLEARING_FIRM: lambda user: models.Q(pk__in=_groups_holding_firms_sessions(user)),
        Role.FINANCE: every_row,
    },
)
register(
    Membership,
    {
        Role.CLIENT: lambda user: models.Q(group__entity_id=user.entity_id),
        Role.CLEARING_FIRM: lambda user: models.Q(source_session__clearing_firm_id=user.clearing_firm_id),
    },
)
register(FrontEndSystem, {Role.CLIENT: lambda user: models.Q(entity_id=user.entity_id) | models.Q(entity__isnull=True)})
register(TargetSession, {Role.CLIENT: lambda user: models.Q(entity_id=user.entity_id)})
register(KeyPair, {Role.CLIENT: lambda user: models.Q(target__entity_id=user.entity_id, is_probe=False)})


def visible(user, model: type[models.Model]) -> models.QuerySet | None:
    """The rows of ``model`` that ``user`` may read, or ``None`` if the role has no access."""
    role = role_of(user)
    if role is None:
        return None
    if model is AuditEvent:
        return visible_audit_events(user)
    if role == Role.ACCOUNT_MANAGER:
        return model._default_manager.all()
    rule = _RULES.get(model, {}).get(role)
    if rule is None:
        return None
    return model._default_manager.filter(rule(user))


def visible_audit_events(user) -> models.QuerySet | None:
    """The trail of what the user can read, or the trail registered for the user's role."""
    role = role_of(user)
    if role is None:
        return None
    events = AuditEvent.objects.all()
    if role == Role.ACCOUNT_MANAGER:
        return events
    if role in _TRAILS:
        return events.filter(object_type__in=sorted(_TRAILS[role]))
    readable = models.Q(pk__in=[])
    for model in AUDITED_DOMAIN_MODELS:
        rows = visible(user, model)
        if rows is not None:
            readable |= models.Q(object_type=audit_object_type(model), object_id__in=rows.values("pk"))
    return events.filter(readable)


def can_see(user, instance: models.Model) -> bool:
    rows = visible(user, type(instance))
    return rows is not None and rows.filter(pk=instance.pk).exists()
