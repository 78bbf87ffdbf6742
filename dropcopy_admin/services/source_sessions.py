"""Registering iLink source sessions (R5), one by one or by CSV import.

Account managers register any session. A client administrator registers sessions only under its
own entity's GFIDs, only where its entity may self-serve (R3a), and only with the GFID's own
guaranteeing clearing firm (naming another would move who approves its memberships, R8):
``_check_client_gfid`` and ``_check_client_firm``, run on each session and on each imported row.
"""

import csv
import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from dropcopy_admin import clock, errors
from dropcopy_admin.choices import LIVE_MEMBERSHIP_STATUSES, GatewayType, Role
from dropcopy_admin.copying import copy_rows
from dropcopy_admin.errors import DomainError
from dropcopy_admin.models import CgwGateway, ClearingFirm, Entity, Gfid, SourceSession, User, Venue

from .audit import Actor, audit_copy_created, audit_record
from .common import require_account_manager, require_client_may_write, update_fields
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


def _registering_entity(actor: Actor, *, doing: str) -> Entity | None:
    """The client's entity when ``actor`` is a client administrator; ``None`` for an account manager
    (or the system), who registers under any GFID. Any other role is refused."""
    if not isinstance(actor, User) or actor.is_account_manager:
        return None
    if actor.effective_role != Role.CLIENT or actor.entity_id is None:
        raise errors.PermissionDenied(f"Only account managers and client administrators may {doing}.")
    return actor.entity


def _check_client_gfid(*, actor: Actor, entity: Entity, venue: Venue, gfid_code: str, gfid: Gfid | None) -> None:
    """A client registers under its own entity's GFIDs (another entity's reads as a missing one),
    where its entity may self-serve (R3a)."""
    if gfid is None or gfid.entity_id != entity.pk:
        message = f"GFID {gfid_code} is not one of {entity.code}'s {venue.code} GFIDs."
        raise errors.NotFound(message, errors={"gfid": [message]})
    require_client_may_write(actor, entity=entity, venue_code=venue.pk)


def _check_client_firm(*, gfid: Gfid, clearing_firm: ClearingFirm | None) -> None:
    """A client's session is guaranteed by its GFID's clearing firm: naming another would change
    who approves its memberships (R8)."""
    if clearing_firm != gfid.clearing_firm:
        guarantor = gfid.clearing_firm.code if gfid.clearing_firm is not None else "no clearing firm"
        message = (
            f"Sessions under GFID {gfid.code} are guaranteed by {guarantor}; "
            "only your account manager may register one with another clearing firm."
        )
        raise errors.PermissionDenied(message, errors={"clearing_firm": [message]})


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
    entity = _registering_entity(actor, doing="register source sessions")
    if entity is not None:
        _check_client_gfid(actor=actor, entity=entity, venue=venue, gfid_code=gfid.code, gfid=gfid)
        if clearing_firm is not GFID_DEFAULT:
            _check_client_firm(gfid=gfid, clearing_firm=clearing_firm)
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


CLEARING_FIRM_CODE_LENGTH = 3
"""A clearing firm's code is 3 uppercase letters or digits (services/registry.py)."""

IMPORT_ERRORS_LISTED = 100
"""The answer lists the first this many bad rows, and counts them all (``bad_rows``)."""

IMPORT_DETAIL_MAX_CHARACTERS = 300
"""A listed error's detail is cut to this many characters (it may quote a long cell)."""

IMPORT_BATCH_ROWS = 2000
"""Rows read, and their GFIDs, clearing firms and SenderCompIDs looked up, this many at a time."""


@dataclass
class ImportResult:
    created: int = 0
    bad_rows: int = 0
    errors: list[dict] = field(default_factory=list)

    def add_error(self, line: int, error: DomainError) -> None:
        """Count a bad row; list it while fewer than ``IMPORT_ERRORS_LISTED`` are."""
        self.bad_rows += 1
        if len(self.errors) < IMPORT_ERRORS_LISTED:
            self.errors.append(
                {
                    "line": line,
                    "code": error.code,
                    "detail": _cut(error.detail),
                    # The same in words for the portal's pages (the API's serializer leaves it out).
                    "for_people": _cut(error.for_people),
                }
            )


def _cut(detail: str) -> str:
    if len(detail) > IMPORT_DETAIL_MAX_CHARACTERS:
        return detail[: IMPORT_DETAIL_MAX_CHARACTERS - 1] + "…"
    return detail


@dataclass
class _Lookups:
    """What rows are checked against. Venues and iLink gateways are few and read once; GFIDs,
    clearing firms and stored SenderCompIDs are read for each batch of rows (``load_batch``), so
    a file of a million distinct codes never makes a million-long query or set."""

    venues: dict[str, Venue]
    cgw_gateways: dict[tuple[str, str, str], CgwGateway]
    gfids: dict[tuple[str, str], Gfid] = field(default_factory=dict)
    clearing_firms: dict[str, ClearingFirm] = field(default_factory=dict)
    existing: set[tuple[str, str]] = field(default_factory=set)
    claimed: set[tuple[str, str]] = field(default_factory=set)
    """(environment, SenderCompID) of the good rows so far in this file."""

    @classmethod
    def reference(cls) -> "_Lookups":
        return cls(
            venues={venue.pk: venue for venue in Venue.objects.all()},
            cgw_gateways={(g.venue_id, g.environment, g.code): g for g in CgwGateway.objects.all()},
        )

    def _could_be(self, code: str, lengths: set[int]) -> bool:
        """Whether ``code`` has the form of a stored code (uppercase letters or digits, one of
        ``lengths`` long): anything else matches nothing and is not looked up."""
        return len(code) in lengths and _SENDER_COMP_ID.match(code) is not None

    def load_batch(self, rows: list[tuple[int, list[str]]]) -> None:
        """The GFIDs, clearing firms and stored sessions these rows name (known GFIDs and firms kept)."""
        gfid_lengths = {venue.gfid_length for venue in self.venues.values()}
        sender_comp_id_lengths = {venue.sender_comp_id_length for venue in self.venues.values()}
        complete = [[cell.strip() for cell in row] for _, row in rows if len(row) == len(IMPORT_HEADER)]
        gfid_codes = {row[5] for row in complete if self._could_be(row[5], gfid_lengths)}
        firm_codes = {row[6] for row in complete if self._could_be(row[6], {CLEARING_FIRM_CODE_LENGTH})} - set(
            self.clearing_firms
        )
        sender_comp_ids = {row[0] for row in complete if self._could_be(row[0], sender_comp_id_lengths)}
        known_gfid_codes = {code for _, code in self.gfids}
        for gfid in Gfid.objects.filter(code__in=gfid_codes - known_gfid_codes).select_related("clearing_firm"):
            self.gfids[(gfid.venue_id, gfid.code)] = gfid
        for firm in ClearingFirm.objects.filter(code__in=firm_codes):
            self.clearing_firms[firm.code] = firm
        self.existing = _stored_sender_comp_ids(sender_comp_ids)


def _stored_sender_comp_ids(sender_comp_ids: set[str]) -> set[tuple[str, str]]:
    """(environment, SenderCompID) of the stored sessions among ``sender_comp_ids``: one array
    parameter (``= ANY``), where the ORM's ``__in`` would build and send 2,000 placeholders."""
    table = connection.ops.quote_name(SourceSession._meta.db_table)
    statement = f"SELECT environment, sender_comp_id FROM {table} WHERE sender_comp_id = ANY(%s)"
    with connection.cursor() as cursor:
        cursor.execute(statement, [list(sender_comp_ids)])
        return set(cursor.fetchall())


def _check_size(data: bytes) -> None:
    if len(data) > settings.DROPCOPY["SOURCE_SESSION_IMPORT_MAX_BYTES"]:
        raise errors.InvalidInput.field("file", "The file is larger than the import accepts.")


def _read_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """The file's non-blank rows after its header, with their line numbers, read as they are used.

    The bytes are decoded as they are read, never copied whole; a file that is not UTF-8 or not
    CSV, wherever the fault, is refused whole (nothing is written before the last row is read).
    """
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline=""))
    first = True
    while True:
        try:
            row = next(reader)
        except StopIteration:
            row = None
        except UnicodeDecodeError as exc:
            raise errors.InvalidInput.field("file", "The file is not UTF-8 text.") from exc
        except csv.Error as exc:
            raise errors.InvalidInput.field("file", f"The file is not valid CSV: {exc}") from exc
        if first:
            if row is None or tuple(cell.strip().lower() for cell in row) != IMPORT_HEADER:
                raise errors.InvalidInput.field("file", "The header must be: " + ",".join(IMPORT_HEADER))
            first = False
            continue
        if row is None:
            return
        if any(cell.strip() for cell in row):
            yield reader.line_num, row


def _batches(rows: Iterator[tuple[int, list[str]]]) -> Iterator[list[tuple[int, list[str]]]]:
    while batch := list(itertools.islice(rows, IMPORT_BATCH_ROWS)):
        yield batch


class _GoodRow(NamedTuple):
    """A checked row, as its session's columns (``created_at`` and ``id`` are given when it is stored)."""

    sender_comp_id: str
    venue_id: str
    environment: str
    gateway_type: str
    cgw_gateway_id: int | None
    gfid_id: int
    clearing_firm_id: int | None


_COPIED_COLUMNS = ("id", *_GoodRow._fields, "created_at")


def _sessions_copy(rows: list[_GoodRow], now) -> list[dict]:
    """Store ``rows`` through ``COPY`` with ids drawn from the table's own sequence, and answer each
    stored session's audit snapshot (``audit.snapshot``'s form). Inside the caller's transaction;
    done before the audit's own ``COPY`` starts (a connection copies one table at a time)."""
    table = SourceSession._meta.db_table
    created_at = clock.utc_iso(now)
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(rows)]
        )
        ids = [session_id for (session_id,) in cursor.fetchall()]
    copy_rows(
        SourceSession, _COPIED_COLUMNS, ((session_id, *row, now) for session_id, row in zip(ids, rows, strict=True))
    )
    return [
        {"id": session_id, **row._asdict(), "created_at": created_at} for session_id, row in zip(ids, rows, strict=True)
    ]


def _session_from_row(
    row: list[str], lookups: _Lookups, now, *, actor: Actor = None, entity: Entity | None = None
) -> _GoodRow:
    """The row's session, or the error that refuses it. ``entity``: the client administrator's
    entity, whose own GFIDs alone it may register under (``None`` for an account manager)."""
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
    ) = map(str.strip, row)
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
    if entity is not None:
        _check_client_gfid(actor=actor, entity=entity, venue=venue, gfid_code=gfid_code, gfid=gfid)
    if gfid is None:
        raise errors.InvalidInput.field("gfid", f"No {venue.code} GFID {gfid_code!r}.")
    if firm_code:
        clearing_firm = lookups.clearing_firms.get(firm_code)
        if clearing_firm is None:
            raise errors.InvalidInput.field("clearing_firm", f"No clearing firm {firm_code!r}.")
        if entity is not None:
            _check_client_firm(gfid=gfid, clearing_firm=clearing_firm)
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
    if (environment, sender_comp_id) in lookups.existing or (environment, sender_comp_id) in lookups.claimed:
        raise _sender_comp_id_taken(environment, sender_comp_id)()
    return _GoodRow(
        sender_comp_id=sender_comp_id,
        venue_id=venue.pk,
        environment=environment,
        gateway_type=gateway_type,
        cgw_gateway_id=cgw_gateway.pk if cgw_gateway is not None else None,
        gfid_id=gfid.pk,
        clearing_firm_id=clearing_firm.pk if clearing_firm is not None else None,
    )


def source_sessions_import(*, actor: Actor, data: bytes, attempts: int = 3) -> ImportResult:
    """Store every good row of a CSV file and report the bad ones by line, with their code.

    A client administrator's rows are its own entity's (``_check_client_gfid``), checked against
    the same per-batch lookups. Every bad row is counted (``bad_rows``); the first
    ``IMPORT_ERRORS_LISTED`` are listed, so a file of bad rows answers small. The file is read as
    it is checked, a batch of rows at a time, its lookups made per batch; the good rows are
    written with PostgreSQL's ``COPY``, and so are their audit rows, in one transaction. A row
    taken meanwhile by a racing import makes the copy fail whole; the file is then checked again
    against what is stored now.
    """
    entity = _registering_entity(actor, doing="import source sessions")
    _check_size(data)
    for attempt in range(attempts):
        result = ImportResult()
        lookups = _Lookups.reference()
        now = clock.now()
        good_rows: list[_GoodRow] = []
        for batch in _batches(_read_rows(data)):
            lookups.load_batch(batch)
            for line, row in batch:
                try:
                    good_row = _session_from_row(row, lookups, now, actor=actor, entity=entity)
                except errors.DomainError as error:
                    result.add_error(line, error)
                    continue
                lookups.claimed.add((good_row.environment, good_row.sender_comp_id))
                good_rows.append(good_row)
        try:
            with transaction.atomic():
                if good_rows:
                    audit_copy_created(
                        actor=actor, model=SourceSession, action="import", snapshots=_sessions_copy(good_rows, now)
                    )
        except IntegrityError as exc:
            if attempt == attempts - 1:
                raise errors.already_exists(
                    "Another import stored some of these SenderCompIDs meanwhile; send the file again."
                ) from exc
            continue
        result.created = len(good_rows)
        return result
    raise AssertionError("unreachable")
