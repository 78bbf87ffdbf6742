"""The demo world the crawl walks: ``manage.py seed_demo``, once for the whole crawl.

The world is built inside one transaction that is rolled back after the last crawl test, so the
rest of the suite never meets the demo users; each crawl test runs in a savepoint within it. What
the seeding leaves queued ``on_commit`` runs once it is done, as it would after the command's
commit (in-process, as under ``make run``).
"""

import io

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import TestCase

from dropcopy_admin.management.commands.seed_demo import DEMO_PASSWORD
from dropcopy_admin.models import User

CRAWL_SUPERUSER = "crawl-superuser"


@pytest.fixture(scope="package")
def demo_logins(django_db_setup, django_db_blocker) -> list[str | None]:
    """The usernames the crawl logs in with — every demo login (a user whose password is the demo
    one), a superuser among them — and ``None`` for a visitor who is not logged in."""
    with django_db_blocker.unblock(), transaction.atomic():
        with TestCase.captureOnCommitCallbacks(execute=True):
            call_command("seed_demo", stdout=io.StringIO())
        demo_users = [user for user in User.objects.order_by("pk") if user.check_password(DEMO_PASSWORD)]
        if not any(user.is_superuser for user in demo_users):
            demo_users.append(User.objects.create_superuser(CRAWL_SUPERUSER, password=DEMO_PASSWORD))
        try:
            yield [*(user.username for user in demo_users), None]
        finally:
            transaction.set_rollback(True)
