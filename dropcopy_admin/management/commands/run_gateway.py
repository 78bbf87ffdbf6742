"""``manage.py run_gateway [--only IP,…] [--exclude IP,…]``: run the drop copy gateway (R19)."""

import asyncio
import signal

from django.core.management.base import BaseCommand

from dropcopy_admin.gateway.server import Gateway


def _ips(text: str) -> frozenset[str]:
    return frozenset(ip.strip() for ip in text.split(",") if ip.strip())


class Command(BaseCommand):
    help = "Run the drop copy gateway on every live target's addresses until interrupted."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--only", default="", help="Serve only these IP addresses (comma-separated)")
        parser.add_argument("--exclude", default="", help="Never serve these IP addresses (comma-separated)")
        parser.add_argument(
            "--metrics-port", type=int, default=None, help="Serve Prometheus metrics on 127.0.0.1 at this port"
        )

    def handle(self, *args, only: str, exclude: str, metrics_port: int | None = None, **options) -> None:
        gateway = Gateway(only=_ips(only), exclude=_ips(exclude))
        if metrics_port:
            from dropcopy_admin.metrics import gateway_metrics_serve

            gateway_metrics_serve(gateway, port=metrics_port)

        async def main() -> None:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, gateway.stop)
            await gateway.serve()

        self.stdout.write("Drop copy gateway running; Ctrl-C stops it.")
        asyncio.run(main())
        self.stdout.write("Drop copy gateway stopped.")
