"""Production logs are one JSON object a line (issue 16): the time, level, logger, message, the
request id, and the user and target a log call names; local and test settings keep their format.

Production's logging runs in a subprocess started on the production settings: importing them
here would change the settings this test run shares."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]

LOG_TWO_LINES = """
import logging
import django
django.setup()
from dropcopy_admin.request_id import current_request_id
current_request_id.set("req-123")
log = logging.getLogger("dropcopy_admin.json_log_test")
log.info("target verified", extra={"user": "am", "target": "AC1ALPN"})
from django.test import RequestFactory
from django.contrib.auth import get_user_model
from dropcopy_admin.log_context import RequestLogContextMiddleware
def view(request):
    request.user = get_user_model()(username="client")
    log.info("inside a request")
RequestLogContextMiddleware(view)(RequestFactory().get("/"))
log.warning("a second line\\nwith a newline in it")
"""


def test_production_writes_one_json_object_a_line_with_request_id_user_and_target():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dropcopy_admin.settings.production",
        "DATABASE_URL": "postgres://unused@127.0.0.1:5432/unused",
        "DJANGO_SECRET_KEY": "x" * 60,
        "DJANGO_ALLOWED_HOSTS": "example.com",
        "DROPCOPY_KEY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    result = subprocess.run(
        [sys.executable, "-c", LOG_TWO_LINES], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "json_log_test" in line]
    assert len(lines) == 3, result.stderr
    first, in_request, second = (json.loads(line) for line in lines)
    assert (in_request["message"], in_request["user"]) == ("inside a request", "client")
    assert first["message"] == "target verified"
    assert (first["request_id"], first["user"], first["target"]) == ("req-123", "am", "AC1ALPN")
    assert (first["level"], first["logger"]) == ("INFO", "dropcopy_admin.json_log_test")
    assert first["time"]
    assert (second["message"], second["level"]) == ("a second line\nwith a newline in it", "WARNING")


def test_local_and_test_settings_keep_the_plain_format(settings):
    assert settings.LOGGING["handlers"]["console"]["formatter"] == "plain"


def test_the_user_of_the_request_goes_on_its_log_lines_once_known(rf, django_user_model):
    from dropcopy_admin.log_context import RequestLogContextMiddleware, UserLogFilter

    seen: list[object] = []

    def view(request):
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "before authentication", None, None)
        UserLogFilter().filter(record)
        seen.append(getattr(record, "user", None))
        request.user = django_user_model(username="am")
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "after", None, None)
        UserLogFilter().filter(record)
        seen.append(record.user)
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "named", None, None)
        record.user = "someone else"
        UserLogFilter().filter(record)
        seen.append(record.user)

    RequestLogContextMiddleware(view)(rf.get("/"))
    assert seen == [None, "am", "someone else"]
