"""``manage.py verify_targets [--when-served] [--timeout SECONDS]``: verify every live target now (R16).

Checks every live target that is not temporary through the normal verification service. With
``--when-served`` it first waits, up to ``--timeout`` seconds, until a running gateway serves
them all: ``make run`` calls it right after starting its gateway, so the first view of the
targets shows them verified. Targets no running gateway serves in time fail with a check that
says so; the command reports them and still exits 0.
"""

from collections import Counter

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dropcopy_admin.services.audit import SystemActor
from dropcopy_admin.services.verification import live_targets_verify

DEFAULT_TIMEOUT_SECONDS = 30.0


class Command(BaseCommand):
    help = "Verify every live target that is not temporary, optionally once a running gateway serves them."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--when-served",
            action="store_true",
            help="Wait until a running gateway serves every target (at most --timeout seconds), then verify",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=DEFAULT_TIMEOUT_SECONDS,
            help=f"How long --when-served waits for the gateway, in seconds (default {DEFAULT_TIMEOUT_SECONDS:g})",
        )

    def handle(self, *args, when_served: bool, timeout: float, **options) -> None:
        if timeout < 0:
            raise CommandError("--timeout must be 0 or more seconds")
        verification = live_targets_verify(
            actor=SystemActor("verify_targets"),
            batch_size=settings.DROPCOPY["VERIFY_BATCH_SIZE"],
            wait_for_gateway_seconds=timeout if when_served else None,
        )
        counts = Counter(verification.statuses.values())
        summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items())) or "none checked"
        self.stdout.write(f"Verified {_targets(len(verification.statuses))}: {summary}.")
        if verification.skipped:
            self.stdout.write(f"Skipped {_targets(len(verification.skipped))}: no probe key or no live address yet.")
        if verification.not_served:
            waited = f" within {timeout:g} s" if when_served else ""
            self.stderr.write(
                f"No running gateway served {_targets(len(verification.not_served))}{waited}; "
                "the checks say so. Is manage.py run_gateway running?"
            )


def _targets(count: int) -> str:
    return f"{count} target" if count == 1 else f"{count} targets"
