"""Recording the audit trail (R18). Services call these inside their own transaction."""

import datetime as dt
import decimal
import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import models

from dropcopy_admin import clock
from dropcopy_admin.copying import copy_rows
from dropcopy_admin.models import AuditEvent, User
from dropcopy_admin.models.audit import audit_object_type
from dropcopy_admin.request_id import get_request_id


@dataclass(frozen=True)
class SystemActor:
    """Scheduled or automatic work, recorded as ``system:<task>``."""

    task: str

    def __str__(self) -> str:
        return f"system:{self.task}"


Actor = User | SystemActor


def _json_value(value):
    if isinstance(value, dt.datetime):
        return clock.utc_iso(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def snapshot(instance: models.Model) -> dict:
    """The concrete field values of ``instance`` as JSON, without the model's secrets."""
    excluded = set(getattr(instance, "AUDIT_EXCLUDE", ()))
    return {
        field.attname: _json_value(getattr(instance, field.attname))
        for field in instance._meta.concrete_fields
        if field.name not in excluded and field.attname not in excluded
    }


def object_type_of(instance_or_model) -> str:
    return audit_object_type(instance_or_model)


def _build_event(
    *,
    actor: Actor,
    action: str,
    instance: models.Model,
    before: dict | None,
    after: dict | None,
    at,
):
    return AuditEvent(
        actor=str(actor) if isinstance(actor, SystemActor) else actor.get_username(),
        actor_user=actor if isinstance(actor, User) else None,
        action=action,
        object_type=object_type_of(instance),
        object_id=instance.pk,
        before=before,
        after=after,
        request_id=get_request_id() or "",
        at=at,
    )


def audit_record(
    *,
    actor: Actor,
    action: str,
    instance: models.Model,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Record one change of ``instance``; ``after`` defaults to its current snapshot."""
    if after is None and not action.endswith("delete"):
        after = snapshot(instance)
    event = _build_event(
        actor=actor,
        action=action,
        instance=instance,
        before=before,
        after=after,
        at=clock.now(),
    )
    event.save()
    return event


def audit_record_created(*, actor: Actor, instances: Iterable[models.Model], action: str = "create") -> None:
    """Record the creation of many objects with one bulk insert."""
    at = clock.now()
    AuditEvent.objects.bulk_create(
        [
            _build_event(
                actor=actor,
                action=action,
                instance=instance,
                before=None,
                after=snapshot(instance),
                at=at,
            )
            for instance in instances
        ],
        batch_size=2000,
    )


def audit_record_changes(*, actor: Actor, action: str, changes: Iterable[tuple[models.Model, dict]]) -> None:
    """Record many changes through one ``COPY``: ``(instance, its snapshot before the change)``.

    The rows are those ``audit_record`` writes (the actor, the request id, the same time for all);
    a ``COPY`` instead of a bulk ``INSERT`` because psycopg builds a bulk insert's parameters (an
    array per column, JSON included) in Python, the larger part of recording a batch's trail."""
    rows = [(object_type_of(instance), instance.pk, before, snapshot(instance)) for instance, before in changes]
    if rows:
        _copy_events(actor=actor, action=action, rows=rows)


_COPIED_COLUMNS = (
    "actor",
    "actor_user",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "request_id",
    "at",
)


def audit_copy_created(*, actor: Actor, model: type[models.Model], action: str, snapshots: Iterable[dict]) -> int:
    """Record the creation of many objects of ``model`` through PostgreSQL's ``COPY``: one row per
    snapshot (``snapshot()``'s form, its ``id`` naming the object), with the actor, the request id
    and the same time, as ``audit_record_created`` writes them. Answer how many were recorded.

    For bulk writes whose objects were never instances (an import of thousands of rows): the
    caller's transaction holds the copy, so the trail commits, or not, with the objects."""
    object_type = object_type_of(model)
    rows = ((object_type, after["id"], None, after) for after in snapshots)
    return _copy_events(actor=actor, action=action, rows=rows)


def _copy_events(*, actor: Actor, action: str, rows: Iterable[tuple[str, int, dict | None, dict | None]]) -> int:
    """``COPY`` audit rows ``(object type, object id, before, after)`` by ``actor`` at one time, with
    the request id, in the caller's transaction; answer how many were written."""
    actor_name = str(actor) if isinstance(actor, SystemActor) else actor.get_username()
    actor_user_id = actor.pk if isinstance(actor, User) else None
    request_id = get_request_id() or ""
    at = clock.now()
    return copy_rows(
        AuditEvent,
        _COPIED_COLUMNS,
        (
            (
                actor_name,
                actor_user_id,
                action,
                object_type,
                object_id,
                None if before is None else json.dumps(before),
                None if after is None else json.dumps(after),
                request_id,
                at,
            )
            for object_type, object_id, before, after in rows
        ),
    )
