"""Registering entities, clearing firms and GFIDs (account managers)."""

import re

from django.db import transaction

from dropcopy_admin import errors
from dropcopy_admin.models import ClearingFirm, Entity, Gfid, Venue

from .audit import Actor, audit_record
from .common import check_names, check_text, require_account_manager, save_unique, update_fields

_ALNUM_UPPER = re.compile(r"^[A-Z0-9]+$")


def _code_taken(kind: str, code: str):
    return lambda: errors.already_exists(f"A {kind} with code {code!r} already exists.")


# --- clearing firms -------------------------------------------------------------------------


def _check_clearing_firm_code(code: str) -> None:
    if len(code) != 3 or not _ALNUM_UPPER.match(code):
        raise errors.InvalidInput.field("code", "A clearing firm code is 3 uppercase letters or digits.")


def clearing_firm_create(*, actor: Actor, code: str, name: str) -> ClearingFirm:
    require_account_manager(actor, doing="register clearing firms")
    _check_clearing_firm_code(code)
    check_text("name", name)
    with transaction.atomic():
        if ClearingFirm.objects.filter(code=code).exists():
            raise _code_taken("clearing firm", code)()
        firm = ClearingFirm(code=code, name=name)
        save_unique(firm, on_conflict=_code_taken("clearing firm", code))
        audit_record(actor=actor, action="create", instance=firm)
    return firm


def clearing_firm_update(*, actor: Actor, firm: ClearingFirm, **changes) -> ClearingFirm:
    require_account_manager(actor, doing="change clearing firms")
    if "code" in changes:
        _check_clearing_firm_code(changes["code"])
    check_names(changes, "name")
    with transaction.atomic():
        firm = ClearingFirm.objects.select_for_update().get(pk=firm.pk)
        code = changes.get("code", firm.code)
        if ClearingFirm.objects.filter(code=code).exclude(pk=firm.pk).exists():
            raise _code_taken("clearing firm", code)()
        return update_fields(
            actor=actor,
            instance=firm,
            changes=changes,
            on_conflict=_code_taken("clearing firm", code),
        )


# --- entities -------------------------------------------------------------------------------


def _check_entity_links(*, entity_id: int | None, clearing_firm: ClearingFirm | None) -> None:
    if clearing_firm is None:
        return
    other = Entity.objects.filter(clearing_firm=clearing_firm).exclude(pk=entity_id).first()
    if other is not None:
        raise errors.already_exists(f"Clearing firm {clearing_firm.code} is already entity {other.code}.")


def entity_create(
    *,
    actor: Actor,
    code: str,
    name: str,
    self_service: bool = False,
    bill_to: Entity | None = None,
    clearing_firm: ClearingFirm | None = None,
) -> Entity:
    require_account_manager(actor, doing="register entities")
    check_names({"code": code, "name": name}, "code", "name")
    with transaction.atomic():
        if Entity.objects.filter(code=code).exists():
            raise _code_taken("entity", code)()
        _check_entity_links(entity_id=None, clearing_firm=clearing_firm)
        entity = Entity(
            code=code,
            name=name,
            self_service=self_service,
            bill_to=bill_to,
            clearing_firm=clearing_firm,
        )
        save_unique(entity, on_conflict=_code_taken("entity", code))
        audit_record(actor=actor, action="create", instance=entity)
    return entity


def entity_update(*, actor: Actor, entity: Entity, **changes) -> Entity:
    require_account_manager(actor, doing="change entities")
    check_names(changes, "code", "name")
    with transaction.atomic():
        entity = Entity.objects.select_for_update().get(pk=entity.pk)
        if "bill_to" in changes and changes["bill_to"] is not None and changes["bill_to"].pk == entity.pk:
            changes["bill_to"] = None  # billing itself is the default, stored as empty
        code = changes.get("code", entity.code)
        if Entity.objects.filter(code=code).exclude(pk=entity.pk).exists():
            raise _code_taken("entity", code)()
        if "clearing_firm" in changes:
            _check_entity_links(entity_id=entity.pk, clearing_firm=changes["clearing_firm"])
        return update_fields(
            actor=actor,
            instance=entity,
            changes=changes,
            on_conflict=_code_taken("entity", code),
        )


# --- GFIDs ----------------------------------------------------------------------------------


def check_gfid(*, code: str, venue: Venue, clearing_firm: ClearingFirm | None) -> None:
    """A GFID is 3 uppercase alphanumerics (5 for BrokerTec); CME ones have a clearing firm."""
    if len(code) != venue.gfid_length or not _ALNUM_UPPER.match(code):
        raise errors.InvalidInput.field(
            "code",
            f"A {venue.code} GFID is {venue.gfid_length} uppercase letters or digits.",
        )
    if clearing_firm is None and venue.clearing_firm_required:
        raise errors.InvalidInput.field("clearing_firm", f"A {venue.code} GFID needs a guaranteeing clearing firm.")


def _gfid_taken(venue: Venue, code: str):
    return lambda: errors.already_exists(f"GFID {code} already exists on {venue.code}.")


def gfid_create(
    *,
    actor: Actor,
    code: str,
    venue: Venue,
    entity: Entity,
    clearing_firm: ClearingFirm | None = None,
    admin_control: bool = False,
) -> Gfid:
    require_account_manager(actor, doing="register GFIDs")
    check_gfid(code=code, venue=venue, clearing_firm=clearing_firm)
    with transaction.atomic():
        if Gfid.objects.filter(venue=venue, code=code).exists():
            raise _gfid_taken(venue, code)()
        gfid = Gfid(
            code=code,
            venue=venue,
            entity=entity,
            clearing_firm=clearing_firm,
            admin_control=admin_control,
        )
        save_unique(gfid, on_conflict=_gfid_taken(venue, code))
        audit_record(actor=actor, action="create", instance=gfid)
    return gfid


def gfid_update(*, actor: Actor, gfid: Gfid, **changes) -> Gfid:
    require_account_manager(actor, doing="change GFIDs")
    with transaction.atomic():
        gfid = Gfid.objects.select_for_update().get(pk=gfid.pk)
        venue = changes.get("venue", gfid.venue)
        code = changes.get("code", gfid.code)
        check_gfid(
            code=code,
            venue=venue,
            clearing_firm=changes.get("clearing_firm", gfid.clearing_firm),
        )
        if (venue.pk != gfid.venue_id or code != gfid.code) and gfid.source_sessions.exists():
            raise errors.invalid_transition(
                "A GFID with source sessions keeps its venue and code (its sessions' SenderCompIDs embed it)."
            )
        if Gfid.objects.filter(venue=venue, code=code).exclude(pk=gfid.pk).exists():
            raise _gfid_taken(venue, code)()
        return update_fields(
            actor=actor,
            instance=gfid,
            changes=changes,
            on_conflict=_gfid_taken(venue, code),
        )
