"""Registering front-end systems: an entity's own, or a vendor product (account managers)."""

import re

from django.db import transaction

from dropcopy_admin import clock, errors
from dropcopy_admin.models import Entity, FrontEndSystem, User

from .audit import Actor, audit_record
from .common import check_text, require_client_may_write, save_unique

_PRINTABLE_ASCII = re.compile(r"^[\x20-\x7e]+$")


def front_end_system_create(
    *, actor: Actor, entity: Entity | None, name: str, version: str, vendor: str
) -> FrontEndSystem:
    if entity is None:
        if isinstance(actor, User) and not actor.is_account_manager:
            raise errors.PermissionDenied("Only account managers register vendor products.")
    else:
        require_client_may_write(actor, entity=entity, venue_code=None)
    for field_name, value in (("name", name), ("version", version), ("vendor", vendor)):
        check_text(field_name, value)
        if not _PRINTABLE_ASCII.match(value) or value != value.strip():
            raise errors.InvalidInput.field(
                field_name,
                "Printable ASCII without leading or trailing spaces (a FIX value).",
            )
    system = FrontEndSystem(entity=entity, name=name, version=version, vendor=vendor, created_at=clock.now())

    def taken():
        return errors.already_exists(f"Front-end system {name} {version} ({vendor}) is already registered.")

    with transaction.atomic():
        if FrontEndSystem.objects.filter(entity=entity, name=name, version=version, vendor=vendor).exists():
            raise taken()
        save_unique(system, on_conflict=taken)
        audit_record(actor=actor, action="create", instance=system)
    return system
