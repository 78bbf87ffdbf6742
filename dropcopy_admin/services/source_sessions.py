"""Registering iLink source sessions (R5), one by one or by CSV import."""

import csv
import io
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction

from dropcopy_admin import clock, errors
from dropcopy_admin.choices import LIVE_MEMBERSHIP_STATUSES, GatewayType
from dropcopy_admin.models import CgwGateway, ClearingFirm, Gfid, SourceSession, Venue

from .audit import Actor, audit_record, audit_record_created
from .common import require_account_manager, update_fields
from .reference import check_environment, check_gateway_type

_SENDER_COMP_ID = re.compile(r"^[A-Z0-9]+$")

GFID_DEFAULT = object()
"""Passed as ``clearing_firm``: take the GFID's guaranteeing clearing firm."""


def check_source_session(
    *,
    sender_comp_id: str,
    venue: Venue,
    environment: str,
    gateway_type: str,
    cgw_gateway: CgwGateway | None,
    gfid: Gfid,
    clearing_firm: ClearingFirm | None,
) -> None:
    """Refuse a source session that breaks R1 or R5. The venue is checked by the caller, first."""
    check_gateway_type(venue=venue, gateway_type=gateway_type)
    check_environment(environment=environment)
    if gateway_type == GatewayType.CGW:
        if cgw_gateway is None:
            raise errors.InvalidInput.field("cgw_gateway", "A CGW session names the iLink gateway it lives on.")
        if cgw_gateway.venue_id != venue.pk or cgw_gateway.environment != environment:
            raise errors.InvalidInput.field(
                "cgw_gateway",
                f"Gateway {cgw_gateway.code} is not a {venue.code} {environment} gateway.",
            )
    elif cgw_gateway is not None:
        raise errors.InvalidInput.field(
            "cgw_gateway",
            "An MSGW session is shared by every segment gateway; leave it empty.",
        )
    if gfid.venue_id != venue.pk:
        raise errors.InvalidInput.field("gfid", f"GFID {gfid.code} is a {gfid.venue_id} GFID, not {venue.code}.")
    expected_length = venue.sender_comp_id_length
    if len(sender_comp_id) != expected_length or not _SENDER_COMP_ID.match(sender_comp_id):
        raise errors.sender_comp_id_mismatch(
            f"A {venue.code} SenderCompID is {expected_length} uppercase letters or digits."
        )
    embedded = sender_comp_id[3 : 3 + venue.gfid_length]
    if embedded != gfid.code:
        raise errors.sender_comp_id_mismatch(
            f"SenderCompID {sender_comp_id} embeds GFID {embedded}, not the session's GFID {gfid.code}."
        )
    if clearing_firm is None and venue.clearing_firm_required:
        raise errors.InvalidInput.field(
            "clearing_firm",
            f"A {venue.code} session needs a guaranteeing clearing firm.",
        )


def _sender_comp_id_taken(environment: str, sender_comp_id: str):
    return lambda: errors.already_exists(f"SenderCompID {sender_comp_id} already exists in {environment}.")


def source_session_create(
    *,
    actor: Actor,
    sender_comp_id: str,
    venue: Venue,
    environment: str,
    gateway_type: str,
    gfid: Gfid,
    cgw_gateway: CgwGateway | None = None,
    clearing_firm=GFID_DEFAULT,
) -> SourceSession:
    require_account_manager(actor, doing="register source sessions")
    if clearing_firm is GFID_DEFAULT:
        clearing_firm = gfid.clearing_firm
    session = SourceSession(
        sender_comp_id=sender_comp_id,
        venue=venue,
        environment=environment,
        gateway_type=gateway_type,
        cgw_gateway=cgw_gateway,
        gfid=gfid,
        clearing_firm=clearing_firm,
        created_at=clock.now(),
    )
    check_source_session(
        sender_comp_id=sender_comp_id,
        venue=venue,
        environment=environment,
        gateway_type=gateway_type,
        cgw_gateway=cgw_gateway,
        gfid=gfid,
        clearing_firm=clearing_firm,
    )
    taken = _sender_comp_id_taken(environment, sender_comp_id)
    with transaction.atomic():
        if SourceSession.objects.filter(environment=environment, sender_comp_id=sender_comp_id).exists():
            raise taken()
        try:
            with transaction.atomic():
                session.save()
        except IntegrityError as exc:
            raise taken() from exc
        audit_record(actor=actor, action="create", instance=session)
    return session


_ROUTING_FIELDS = ("venue", "environment", "gateway_type", "cgw_gateway")


def source_session_update(*, actor: Actor, session: SourceSession, **changes) -> SourceSession:
    """Change a session; where its data flows (venue, environment, gateway) is fixed while it is in a group."""
    require_account_manager(actor, doing="change source sessions")
    with transaction.atomic():
        session = SourceSession.objects.select_for_update().get(pk=session.pk)
        if changes.get("clearing_firm") is GFID_DEFAULT:
            changes["clearing_firm"] = changes.get("gfid", session.gfid).clearing_firm
        merged = {
            name: changes.get(name, getattr(session, name))
            for name in (*_ROUTING_FIELDS, "sender_comp_id", "gfid", "clearing_firm")
        }
        routing_changed = any(merged[name] != getattr(session, name) for name in _ROUTING_FIELDS)
        if routing_changed and session.memberships.filter(status__in=LIVE_MEMBERSHIP_STATUSES).exists():
            raise errors.invalid_transition(
                "This session is in a group: its venue, environment and gateway cannot change."
            )
        check_source_session(**merged)
        taken = _sender_comp_id_taken(merged["environment"], merged["sender_comp_id"])
        clash = SourceSession.objects.filter(
            environment=merged["environment"], sender_comp_id=merged["sender_comp_id"]
        ).exclude(pk=session.pk)
        if clash.exists():
            raise taken()
        return update_fields(actor=actor, instance=session, changes=changes, on_conflict=taken)


# --- CSV import -----------------------------------------------------------------------------

IMPORT_HEADER = (
    "sender_comp_id",
    "venue",
    "environment",
    "gateway_type",
    "cgw_gateway",
    "gfid",
    "clearing_firm",
)


@dataclass
class ImportResult:
    created: int = 0
    errors: list[dict] = field(default_factory=list)


@dataclass
class _Lookups:
    venues: dict[str, Venue]
    cgw_gateways: dict[tuple[str, str, str], CgwGateway]
    gfids: dict[tuple[str, str], Gfid]
    clearing_firms: dict[str, ClearingFirm]
    existing: set[tuple[str, str]]


def _read_rows(data: bytes) -> list[tuple[int, list[str]]]:
    if len(data) > settings.DROPCOPY["SOURCE_SESSION_IMPORT_MAX_BYTES"]:
        raise errors.InvalidInput.field("file", "The file is larger than the import accepts.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise errors.InvalidInput.field("file", "The file is not UTF-8 text.") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or tuple(cell.strip().lower() for cell in header) != IMPORT_HEADER:
            raise errors.InvalidInput.field("file", "The header must be: " + ",".join(IMPORT_HEADER))
        return [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise errors.InvalidInput.field("file", f"The file is not valid CSV: {exc}") from exc


def _load_lookups(rows: list[tuple[int, list[str]]]) -> _Lookups:
    columns = (
        list(
            zip(
                *(row for _, row in rows if len(row) == len(IMPORT_HEADER)),
                strict=False,
            )
        )
        or [()] * 7
    )
    # A NUL byte cannot reach PostgreSQL; such a value matches nothing and its row is reported.
    gfid_codes = {code.strip() for code in columns[5] if "\x00" not in code}
    firm_codes = {code.strip() for code in columns[6] if code.strip() and "\x00" not in code}
    sender_comp_ids = {code.strip() for code in columns[0] if "\x00" not in code}
    return _Lookups(
        venues={venue.pk: venue for venue in Venue.objects.all()},
        cgw_gateways={(g.venue_id, g.environment, g.code): g for g in CgwGateway.objects.all()},
        gfids={
            (g.venue_id, g.code): g for g in Gfid.objects.filter(code__in=gfid_codes).select_related("clearing_firm")
        },
        clearing_firms={f.code: f for f in ClearingFirm.objects.filter(code__in=firm_codes)},
        existing=set(
            SourceSession.objects.filter(sender_comp_id__in=sender_comp_ids).values_list(
                "environment", "sender_comp_id"
            )
        ),
    )


def _session_from_row(row: list[str], lookups: _Lookups, now) -> SourceSession:
    if len(row) != len(IMPORT_HEADER):
        raise errors.InvalidInput(f"Expected {len(IMPORT_HEADER)} columns, found {len(row)}.")
    (
        sender_comp_id,
        venue_code,
        environment,
        gateway_type,
        gateway_code,
        gfid_code,
        firm_code,
    ) = (c.strip() for c in row)
    venue = lookups.venues.get(venue_code)
    if venue is None:
        raise errors.venue_not_supported(venue_code)
    check_gateway_type(venue=venue, gateway_type=gateway_type)
    for name, value in (
        ("sender_comp_id", sender_comp_id),
        ("environment", environment),
        ("gfid", gfid_code),
    ):
        if not value:
            raise errors.InvalidInput.field(name, "This field is required.")
    check_environment(environment=environment)
    cgw_gateway = None
    if gateway_code:
        cgw_gateway = lookups.cgw_gateways.get((venue.pk, environment, gateway_code))
        if cgw_gateway is None:
            raise errors.InvalidInput.field(
                "cgw_gateway",
                f"No {venue.code} {environment} gateway {gateway_code!r}.",
            )
    gfid = lookups.gfids.get((venue.pk, gfid_code))
    if gfid is None:
        raise errors.InvalidInput.field("gfid", f"No {venue.code} GFID {gfid_code!r}.")
    if firm_code:
        clearing_firm = lookups.clearing_firms.get(firm_code)
        if clearing_firm is None:
            raise errors.InvalidInput.field("clearing_firm", f"No clearing firm {firm_code!r}.")
    else:
        clearing_firm = gfid.clearing_firm
    check_source_session(
        sender_comp_id=sender_comp_id,
        venue=venue,
        environment=environment,
        gateway_type=gateway_type,
        cgw_gateway=cgw_gateway,
        gfid=gfid,
        clearing_firm=clearing_firm,
    )
    if (environment, sender_comp_id) in lookups.existing:
        raise _sender_comp_id_taken(environment, sender_comp_id)()
    return SourceSession(
        sender_comp_id=sender_comp_id,
        venue=venue,
        environment=environment,
        gateway_type=gateway_type,
        cgw_gateway=cgw_gateway,
        gfid=gfid,
        clearing_firm=clearing_firm,
        created_at=now,
    )


def source_sessions_import(*, actor: Actor, data: bytes, attempts: int = 3) -> ImportResult:
    """Store every good row of a CSV file and report every bad one by line, with its code.

    Lookups are made in bulk up front and good rows inserted in bulk, with their audit rows, in
    one transaction. A row taken meanwhile by a racing import makes the insert fail whole; the file
    is then checked again against what is stored now.
    """
    require_account_manager(actor, doing="import source sessions")
    rows = _read_rows(data)
    for attempt in range(attempts):
        result = ImportResult()
        lookups = _load_lookups(rows)
        now = clock.now()
        sessions: list[SourceSession] = []
        for line, row in rows:
            try:
                session = _session_from_row(row, lookups, now)
            except errors.DomainError as error:
                result.errors.append({"line": line, "code": error.code, "detail": error.detail})
                continue
            lookups.existing.add((session.environment, session.sender_comp_id))
            sessions.append(session)
        try:
            with transaction.atomic():
                SourceSession.objects.bulk_create(sessions, batch_size=2000)
                audit_record_created(actor=actor, instances=sessions, action="import")
        except IntegrityError as exc:
            if attempt == attempts - 1:
                raise errors.already_exists(
                    "Another import stored some of these SenderCompIDs meanwhile; send the file again."
                ) from exc
            continue
        result.created = len(sessions)
        return result
    raise AssertionError("unreachable")
