"""The gateway's acceptor: one listener per live address, following the registry (R19).

``Gateway.serve()`` re-reads the registry every ``REFRESH_SECONDS`` (so a commit is followed
within 2 s): it opens listeners for new addresses, closes those of released addresses and closed
targets (logging their sessions out), logs out sessions whose key stopped being live (R11:
within 5 s), records in the database the addresses it now serves (``presence``: verification
waits for them), and hands pending synthetic feed requests to logged-on sessions (``feed``).
``GatewayThread`` runs it on its own event loop in a background thread (tests, and anything that
embeds the gateway).
"""

import asyncio
import contextlib
import logging
import threading

from dropcopy_admin import clock

from .feed import FeedManager
from .presence import LiveFigures, Presence
from .registry import Address, Snapshot, logon_secret, snapshot_load
from .session import Session
from .store import Database

log = logging.getLogger(__name__)

REFRESH_SECONDS = 0.5


class Gateway:
    def __init__(self, *, only: frozenset[str] = frozenset(), exclude: frozenset[str] = frozenset()) -> None:
        self.only = frozenset(only)
        self.exclude = frozenset(exclude)
        self.db = Database()
        self.snapshot = Snapshot(addresses={}, live_keys=frozenset())
        self.listeners: dict[tuple[str, int], asyncio.Server] = {}
        self.sessions: set[Session] = set()
        self.streams: dict[tuple[int, int | None], Session] = {}
        self._stopping: asyncio.Event | None = None
        self.synced = threading.Event()
        self.bind_failures: dict[tuple[str, int], str] = {}
        self.feeds = FeedManager(self.db)
        self.presence = Presence(self.db, name=_process_name(self.only, self.exclude))

    # --- registry -----------------------------------------------------------------------------

    async def refresh(self) -> None:
        snapshot = await self.db.run(
            snapshot_load, at=clock.now(), only=self.only, exclude=self.exclude, previous=self.snapshot
        )
        self.snapshot = snapshot
        for key in list(self.listeners):
            if key not in snapshot.addresses:
                await self._stop_listening(key)
        for key, address in snapshot.addresses.items():
            if key not in self.listeners:
                await self._listen(address)
        for session in list(self.sessions):
            current = snapshot.addresses.get((session.address.ip, session.address.port))
            if current is None or current.target_id != session.address.target_id:
                session.kick("The target is closed or no longer served on this address")
            elif session.logged_on and not snapshot.key_is_live(current.target_id, session.access_key_id):
                session.kick("The Access Key ID of this session was revoked or has expired")
        try:
            logged_on = sum(1 for session in self.sessions if session.logged_on and not session.probe)
            await self.presence.record(self.serving(), sessions_logged_on=logged_on)
        except Exception:  # written again on the next read; serving sessions goes on
            log.exception("recording the served addresses failed")
        try:
            await self.feeds.refresh()
        except Exception:  # the feed waits for the next read; serving sessions goes on
            log.exception("synthetic feed refresh failed")
        self.synced.set()

    async def _listen(self, address: Address) -> None:
        key = (address.ip, address.port)

        async def accept(reader, writer) -> None:
            await self._serve_connection(key, reader, writer)

        try:
            self.listeners[key] = await asyncio.start_server(accept, address.ip, address.port, reuse_address=True)
            self.bind_failures.pop(key, None)
        except OSError as error:  # retried on the next refresh
            self.bind_failures[key] = str(error)
            log.warning("cannot listen on %s:%s: %s", address.ip, address.port, error)

    async def _stop_listening(self, key: tuple[str, int]) -> None:
        server = self.listeners.pop(key)
        server.close()
        for session in list(self.sessions):
            if (session.address.ip, session.address.port) == key:
                session.kick("The target is closed or no longer served on this address")

    def serving(self) -> dict[int, int]:
        """Address id → target id of every address a listener is open on."""
        return {
            address.address_id: address.target_id
            for key, address in self.snapshot.addresses.items()
            if key in self.listeners
        }

    async def logon_secret(self, *, target_id: int, access_key_id: str, probe: bool, at) -> str | None:
        """The Secret Key a logon is checked with: from the snapshot (no database wait); a key
        created since the last read is looked up in the database once."""
        secret = self.snapshot.logon_secret(target_id=target_id, access_key_id=access_key_id, probe=probe, at=at)
        if secret is not None or (target_id, access_key_id) in self.snapshot.live_keys:
            return secret
        return await self.db.run(logon_secret, target_id=target_id, access_key_id=access_key_id, probe=probe, at=at)

    def current_address(self, address: Address) -> Address | None:
        return self.snapshot.addresses.get((address.ip, address.port))

    # --- sessions -----------------------------------------------------------------------------

    async def _serve_connection(self, key: tuple[str, int], reader, writer) -> None:
        address = self.snapshot.addresses.get(key)
        if address is None:
            writer.close()
            return
        session = Session(self, address, reader, writer)
        self.sessions.add(session)
        await session.run()

    def claim_stream(self, session: Session) -> bool:
        """Make ``session`` the one client session of its stream, unless a live one holds it.

        A holder whose client is gone (it closed its connection and logged on again at once, before
        the old session read its end of stream) is dropped and the new session takes the stream; a
        holder whose connection is still open keeps it.
        """
        holder = self.streams.get(session.stream_key)
        if holder is not None and not holder.closed:
            if not holder.connection_gone():
                return False
            log.info("client session of target %s dropped: its connection is gone", holder.address.target_comp_id)
            holder.drop()
        self.streams[session.stream_key] = session
        return True

    @property
    def figures(self) -> LiveFigures:
        """The live figures the sessions count, published with the process row (``presence``)."""
        return self.presence.figures

    def session_logged_on(self, session: Session) -> None:
        self.feeds.session_logged_on(session)

    def session_ended(self, session: Session) -> None:
        self.feeds.session_ended(session)
        self.sessions.discard(session)
        if self.streams.get(session.stream_key) is session:
            del self.streams[session.stream_key]

    # --- running ------------------------------------------------------------------------------

    async def serve(self) -> None:
        self._stopping = asyncio.Event()
        try:
            while not self._stopping.is_set():
                try:
                    await self.refresh()
                except Exception:  # the database may be away for a moment: keep serving
                    log.exception("gateway registry refresh failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), REFRESH_SECONDS)
        finally:
            await self._shutdown()

    def stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()

    async def _shutdown(self) -> None:
        for key in list(self.listeners):
            self.listeners.pop(key).close()
        sessions = list(self.sessions)
        await self.presence.stop()
        await self.feeds.stop()
        await asyncio.gather(
            *(session.logout("The gateway is shutting down") for session in sessions), return_exceptions=True
        )
        await asyncio.get_running_loop().run_in_executor(None, self.db.close)


def _process_name(only: frozenset[str], exclude: frozenset[str]) -> str:
    """How the process row names this gateway: which addresses it may serve."""
    name = "gateway"
    if only:
        name += " for " + ", ".join(sorted(only))
    if exclude:
        name += " except " + ", ".join(sorted(exclude))
    return name[:100]


class GatewayThread:
    """The gateway on its own event loop in a background thread; ``start`` waits for its listeners."""

    def __init__(self, **options) -> None:
        self.gateway = Gateway(**options)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="gateway", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.gateway.serve())
        self.loop.close()

    def start(self, timeout: float = 10) -> "GatewayThread":
        self.thread.start()
        if not self.gateway.synced.wait(timeout):
            raise RuntimeError("the gateway did not start")
        if self.gateway.bind_failures:
            self.stop()
            raise RuntimeError(f"the gateway cannot listen on {self.gateway.bind_failures}")
        return self

    def wait_refreshed(self, timeout: float = 5) -> None:
        """Block until the gateway has read the registry again (tests)."""
        self.gateway.synced.clear()
        if not self.gateway.synced.wait(timeout):
            raise RuntimeError("the gateway did not refresh")

    def stop(self, timeout: float = 10) -> None:
        """Stop gracefully (sessions logged out, listeners closed); a second call does nothing."""
        if not self.thread.is_alive():
            return
        self.loop.call_soon_threadsafe(self.gateway.stop)
        self.thread.join(timeout)
