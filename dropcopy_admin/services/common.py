"""Pieces every service shares: who may write, text people type, saving with its audit row, unique values."""

import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping

from django.db import IntegrityError, models, transaction

from dropcopy_admin import errors
from dropcopy_admin.choices import Role
from dropcopy_admin.models import Entity, User

from .audit import Actor, audit_record, snapshot


def require_account_manager(actor: Actor, *, doing: str = "do this") -> None:
    if isinstance(actor, User) and not actor.is_account_manager:
        raise errors.PermissionDenied(f"Only account managers may {doing}.")


def require_client_may_write(actor: Actor, *, entity: Entity, venue_code: str | None) -> None:
    """R3a: a client writes for its own entity, and only when that entity may self-serve."""
    if not isinstance(actor, User) or actor.is_account_manager:
        return
    if actor.effective_role != Role.CLIENT or actor.entity_id != entity.pk:
        raise errors.PermissionDenied("Your role may not make this change.")
    if not entity.may_self_serve(venue_code):
        raise errors.PermissionDenied(
            f"Entity {entity.code} is not authorised for self-service"
            + (f" on {venue_code}" if venue_code else "")
            + "; ask your account manager."
        )


# Characters a person never means to type into a name or a note: control characters (Unicode
# category Cc: NUL, the C0 and C1 controls, DEL), invisible format characters (Cf: zero-width
# spaces and joiners, bidirectional overrides, the byte order mark, soft hyphens), lone surrogates
# (Cs, which PostgreSQL cannot store) and the Unicode line and paragraph separators (Zl, Zp).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# What a note of several lines may hold among them.
_NOTE_LAYOUT = frozenset("\t\n\r")


def check_text(field: str, value: str, *, multiline: bool = False) -> None:
    """Refuse text typed by a person that holds a control or invisible formatting character.

    Every name and note that ends up on a page or in an export passes here before anything is
    written: ``invalid`` on ``field``. A note of several lines (``multiline``) may hold tabs and
    line breaks; a name may not.
    """
    allowed = _NOTE_LAYOUT if multiline else frozenset()
    for character in value:
        if character not in allowed and unicodedata.category(character) in _REFUSED_CATEGORIES:
            raise errors.InvalidInput.field(
                field,
                "Tabs and line breaks are the only control characters allowed here."
                if multiline
                else "Control characters (such as tabs, line breaks or invisible formatting) are not allowed here.",
            )


def check_names(values: Mapping[str, object], *fields: str) -> None:
    """``check_text`` on each of ``fields`` that ``values`` (a service's arguments or changes) gives."""
    for field in fields:
        value = values.get(field)
        if isinstance(value, str):
            check_text(field, value)


def save_unique(instance: models.Model, *, on_conflict: Callable[[], errors.DomainError]) -> None:
    """Save ``instance``; a unique constraint violated by a racing transaction becomes a domain error."""
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise on_conflict() from exc


def update_fields(
    *,
    actor: Actor,
    instance: models.Model,
    changes: dict,
    on_conflict: Callable[[], errors.DomainError],
    action: str = "update",
) -> models.Model:
    """Apply ``changes`` to ``instance`` and record before and after, if anything changed."""
    before = snapshot(instance)
    for name, value in changes.items():
        setattr(instance, name, value)
    after = snapshot(instance)
    if after != before:
        save_unique(instance, on_conflict=on_conflict)
        audit_record(actor=actor, action=action, instance=instance, before=before, after=after)
    return instance


def client_administrator_emails(entity_ids: Iterable[int]) -> dict[int, list[str]]:
    """Per entity, the e-mail addresses of its active client administrators, sorted (R8, R10, R11)."""
    emails: dict[int, list[str]] = defaultdict(list)
    admins = User.objects.filter(role=Role.CLIENT, is_active=True, entity_id__in=set(entity_ids)).exclude(email="")
    for entity_id, email in admins.order_by("email").values_list("entity_id", "email"):
        emails[entity_id].append(email)
    return emails
