"""``manage.py feed_synthetic --target ID --count N [--seed S] [--rate R]``: on-demand synthetic feed (R19).

The gateway runs in its own process, so this command only queues a ``FeedRequest`` row; the
gateway picks it up on its next registry read (within a second) once the target has a logged-on
client session, and sends the N messages on that session at R messages a second.
"""

import secrets

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dropcopy_admin import clock
from dropcopy_admin.gateway.store import FeedRequestRefused, feed_request_queue


class Command(BaseCommand):
    help = "Queue N synthetic drop copy messages for a target's logged-on client session."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--target", type=int, required=True, help="Target session id")
        parser.add_argument("--count", type=int, required=True, help="How many messages to send")
        parser.add_argument("--seed", type=int, default=None, help="Seed of the generator (default: random)")
        parser.add_argument(
            "--rate",
            type=float,
            default=None,
            help="Messages per second (default DROPCOPY['SYNTHETIC_FEED_REQUEST_RATE_PER_SECOND'])",
        )

    def handle(self, *args, target: int, count: int, seed: int | None, rate: float | None, **options) -> None:
        seed = secrets.randbelow(2**31) if seed is None else seed
        rate = settings.DROPCOPY["SYNTHETIC_FEED_REQUEST_RATE_PER_SECOND"] if rate is None else rate
        try:
            request = feed_request_queue(target_id=target, count=count, seed=seed, rate_per_second=rate, at=clock.now())
        except FeedRequestRefused as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Feed request {request.pk} queued: {count} messages for target {target} (seed {seed}, {rate:g}/s); "
            "the gateway sends them on the target's logged-on client session."
        )
