"""``manage.py seed_demo``: a believable demo world, with its history, built through the services.

Idempotent: every object is looked up first and created only when missing, so a second run
changes nothing. The history (certifications and their checklists, groups opened and their
requests decided, key pairs, closed billing runs, connectivity checks) happens at its own past
times: the product's clock is moved for each step and always moved back. The audit trail shows
who did what and when (``system:seed_demo`` for the registry, the demo users for their own acts).

The seed verifies nothing: ``make run`` verifies the live targets once its gateway serves them.
So the tasks and e-mails the services would queue for after the commit (provisioning, which goes
on to verify, and the workflow's messages) are discarded (``after_commit.discarded``); the seed
provisions its targets itself.
The data is in ``_demo/world.py``, the steps in ``_demo/builder.py``.
"""

import secrets

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from dropcopy_admin import after_commit, clock, errors
from dropcopy_admin.choices import Role
from dropcopy_admin.request_id import current_request_id

from ._demo.builder import DemoWorld
from ._demo.world import DEMO_PASSWORD, USERS

__all__ = ["DEMO_PASSWORD", "Command"]


class Command(BaseCommand):
    help = (
        "Build the demo world (entities, clearing firms, GFIDs, source sessions, front-end systems, "
        "certifications, groups, pending requests, key pairs, billing runs, connectivity history, one "
        "user per role) through the services. Idempotent; verifies nothing. "
        f"Every demo user's password is {DEMO_PASSWORD!r}, set directly and deliberately bypassing "
        "the password validators: it is demo data, never for a real deployment."
    )

    def handle(self, *args, **options):
        demo = DemoWorld(now=clock.now())
        token = current_request_id.set(f"seed_demo-{secrets.token_hex(8)}")
        try:
            with transaction.atomic(), after_commit.discarded():
                demo.build()
        except errors.DomainError as error:
            raise CommandError(f"The demo world could not be built ({error.code}): {error.detail}") from error
        finally:
            current_request_id.reset(token)
        if demo.created:
            summary = ", ".join(f"{kind}: {count}" for kind, count in sorted(demo.created.items()))
            self.stdout.write(self.style.SUCCESS(f"Created — {summary}."))
        else:
            self.stdout.write("The demo world was already there; nothing changed.")
        self.stdout.write("Demo logins (admin at /admin/, API token at /api/v1/auth/token/):")
        for username, role, entity, firm in USERS:
            scope = f" of {entity or firm}" if entity or firm else ""
            self.stdout.write(f"  {username:<10} {DEMO_PASSWORD}  {Role(role).label}{scope}")
