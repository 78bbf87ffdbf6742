"""The CSV import writes through PostgreSQL's ``COPY``: its audit trail stays whole, and a racing
writer that takes a SenderCompID while the copy runs makes the file be checked again."""

import threading
import time

import pytest
from django.db import connection, transaction

from dropcopy_admin import clock
from dropcopy_admin.models import AuditEvent, SourceSession
from dropcopy_admin.request_id import current_request_id
from dropcopy_admin.services import source_sessions
from dropcopy_admin.services.audit import snapshot
from tests import factories

HEADER = "sender_comp_id,venue,environment,gateway_type,cgw_gateway,gfid,clearing_firm"


def csv_bytes(*rows: str) -> bytes:
    return ("\n".join((HEADER, *rows)) + "\n").encode()


@pytest.mark.django_db
def test_each_imported_session_has_one_audit_row_equal_to_its_snapshot(account_manager, client_entity, clearing_firm):
    factories.GfidFactory(code="ACM", entity=client_entity, clearing_firm=clearing_firm)
    token = current_request_id.set("req-import-copy")
    try:
        result = source_sessions.source_sessions_import(
            actor=account_manager,
            data=csv_bytes("S01ACMN,CME,PRODUCTION,CGW,CGW1,ACM,", "S02ACMN,CME,CERT,MSGW,,ACM,", "bad row"),
        )
    finally:
        current_request_id.reset(token)

    assert (result.created, result.bad_rows) == (2, 1)
    sessions = list(SourceSession.objects.order_by("id"))
    events = list(AuditEvent.objects.filter(object_type="sourcesession").order_by("object_id"))
    assert [event.object_id for event in events] == [session.id for session in sessions]
    for session, event in zip(sessions, events, strict=True):
        assert event.after == snapshot(session)
        assert (event.action, event.actor, event.actor_user, event.before) == ("import", "am", account_manager, None)
        assert event.request_id == "req-import-copy"


@pytest.mark.django_db
def test_the_next_session_created_one_by_one_takes_a_fresh_id(account_manager, client_entity, clearing_firm):
    """The import draws its ids from the table's own sequence, so later inserts never collide."""
    gfid = factories.GfidFactory(code="ACM", entity=client_entity, clearing_firm=clearing_firm)
    source_sessions.source_sessions_import(actor=account_manager, data=csv_bytes("S01ACMN,CME,PRODUCTION,MSGW,,ACM,"))
    created = source_sessions.source_session_create(
        actor=account_manager,
        sender_comp_id="S02ACMN",
        venue=factories.venue("CME"),
        environment="PRODUCTION",
        gateway_type="MSGW",
        gfid=gfid,
    )
    assert created.id > SourceSession.objects.get(sender_comp_id="S01ACMN").id


def _someone_waits_on_a_lock(timeout: float) -> bool:
    """Whether another backend of this database is blocked on a lock within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_sender_comp_id_taken_while_the_copy_runs_is_reported_and_the_rest_stored(account_manager):
    """Another transaction holds an uncommitted session with one of the file's SenderCompIDs: the
    import's checks do not see it, its copy waits on the unique index, and fails when the other
    commits; the file is then checked again, that row reported as taken and the others stored."""
    entity = factories.EntityFactory(code="ACME")
    gfid = factories.GfidFactory(code="ACM", entity=entity, clearing_firm=factories.ClearingFirmFactory(code="CF1"))
    inserted, blocked = threading.Event(), threading.Event()

    def racing_writer() -> None:
        try:
            with transaction.atomic():
                SourceSession.objects.create(
                    sender_comp_id="S02ACMN",
                    venue_id="CME",
                    environment="PRODUCTION",
                    gateway_type="MSGW",
                    gfid=gfid,
                    clearing_firm=gfid.clearing_firm,
                    created_at=clock.now(),
                )
                inserted.set()
                if _someone_waits_on_a_lock(timeout=20):
                    blocked.set()
        finally:
            connection.close()

    writer = threading.Thread(target=racing_writer)
    writer.start()
    assert inserted.wait(timeout=20)
    result = source_sessions.source_sessions_import(
        actor=account_manager,
        data=csv_bytes(
            "S01ACMN,CME,PRODUCTION,MSGW,,ACM,",
            "S02ACMN,CME,PRODUCTION,MSGW,,ACM,",
            "S03ACMN,CME,PRODUCTION,MSGW,,ACM,",
        ),
    )
    writer.join(timeout=30)

    assert blocked.is_set(), "the import's copy never waited on the racing writer"
    assert (result.created, result.bad_rows) == (2, 1)
    assert [(error["line"], error["code"]) for error in result.errors] == [(3, "already_exists")]
    assert set(SourceSession.objects.values_list("sender_comp_id", flat=True)) == {"S01ACMN", "S02ACMN", "S03ACMN"}
    assert AuditEvent.objects.filter(object_type="sourcesession", action="import").count() == 2
