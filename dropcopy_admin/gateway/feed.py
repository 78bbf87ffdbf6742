"""The synthetic drop copy feed inside the gateway (R10, R19): ``35=n`` envelopes, paced and recorded.

The execution reports come from ``synthetic.SyntheticFeed`` (pure, seeded). ``FeedManager`` runs
the feeds inside the gateway. Each logged-on client session gets a
``SessionFeed`` that sends on the session's own outgoing stream (``Session.send_envelope``: stored,
sequenced, resendable like every other message), paced by a token bucket on the product clock:

* a temporary target (New Release, AutoCert+) gets the automatic feed, every kind, at
  ``DROPCOPY["SYNTHETIC_FEED_RATE_PER_SECOND"]``, for as long as the session is logged on;
* ``manage.py feed_synthetic`` writes a ``FeedRequest`` row (the gateway is another process, so
  the database carries the request); each registry read picks up the pending requests of targets
  with a logged-on client session and runs them at their own rate, honouring the group's message
  filters, recording progress as it sends. A request is served by one session of the target (for
  MSGW, the lowest market segment logged on); if that session ends first, the rest waits for the
  next logon, and the seed replays the run so the rest is the same messages.
"""

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings

from dropcopy_admin import clock

from . import store
from .connection import Connection, SessionClosed
from .synthetic import ALL_KINDS, SyntheticFeed

log = logging.getLogger(__name__)

TICK = 0.1
# Envelopes numbered, stored (one row) and written (one write) together. Bounded: every session's
# feed is a task, and a session resumes after its burst is stored only behind every other ready
# session's burst, so a turn of 300 sessions must stay well under a heartbeat interval. At about
# 40 µs a message, 300 bursts of 50 take about 0.6 s; 10 left a third of the gateway's time to the
# per-burst costs (a write, a stored row, a commit to wait for).
BURST = 50


# --- pacing ---------------------------------------------------------------------------------


@dataclass
class RateLimit:
    """A token bucket on the product clock: ``rate`` messages a second, bursts of one second's worth."""

    rate: float
    last: dt.datetime
    tokens: float = 0.0

    def take(self, now: dt.datetime, wanted: int) -> int:
        elapsed = (now - self.last).total_seconds()
        if elapsed != 0:  # a clock moved backwards restarts the count from there
            self.tokens = min(max(self.rate, 1.0), self.tokens + max(elapsed, 0.0) * self.rate)
            self.last = now
        granted = min(wanted, int(self.tokens + 1e-9))
        self.tokens -= granted
        return granted


# --- running inside the gateway -------------------------------------------------------------


@dataclass
class Run:
    feed: SyntheticFeed
    limit: RateLimit
    remaining: int | None  # None: the endless automatic feed
    request_id: int | None = None
    sent: int = 0


class SessionFeed:
    """The feeds of one logged-on client session, sent on its own stream by one task."""

    def __init__(self, manager: "FeedManager", session: Connection, profile: store.FeedProfile) -> None:
        self.manager = manager
        self.session = session
        self.profile = profile
        self.runs: list[Run] = []
        if profile.temporary:
            rate = float(settings.DROPCOPY["SYNTHETIC_FEED_RATE_PER_SECOND"])
            seed = profile.target_id * 1_000_003 + session.next_outgoing  # a new run on each logon
            feed = SyntheticFeed(seed=seed, kinds=ALL_KINDS, sources=profile.sources)
            self.runs.append(Run(feed=feed, limit=RateLimit(rate=rate, last=clock.now()), remaining=None))
        self._work = asyncio.Event()  # idle sessions (no run) wait on it instead of ticking
        self.task = asyncio.create_task(self._run())

    def add_request(self, request: store.PendingFeedRequest) -> None:
        now = clock.now()
        feed = SyntheticFeed(seed=request.seed, kinds=self.profile.kinds, sources=self.profile.sources)
        feed.skip(request.sent, now)
        self.runs.append(
            Run(
                feed=feed,
                limit=RateLimit(rate=request.rate_per_second, last=now),
                remaining=request.count - request.sent,
                request_id=request.id,
                sent=request.sent,
            )
        )
        self._work.set()

    async def _run(self) -> None:
        try:
            while not self.session.closed:
                if not self.runs:
                    self._work.clear()
                    await self._work.wait()
                await asyncio.sleep(TICK)
                for run in list(self.runs):
                    await self._advance(run, clock.now())
        except (SessionClosed, ConnectionError):
            pass
        except Exception:  # a feed bug must not take the session or the gateway down
            log.exception("synthetic feed of target %s failed", self.profile.target_id)
        finally:
            self.manager.feed_ended(self)

    async def _advance(self, run: Run, now: dt.datetime) -> None:
        wanted = run.remaining if run.remaining is not None else 1_000_000
        granted = run.limit.take(now, wanted)
        try:
            left = granted
            while left:
                burst = min(left, BURST)
                inners = [run.feed.next_message(now) for _ in range(burst)]
                await self.session.send_envelopes(inners, check=False)  # the generator builds only valid frames
                left -= burst
                run.sent += burst
                if run.remaining is not None:
                    run.remaining -= burst
        finally:
            if run.request_id is not None and granted:
                done = run.remaining == 0
                self.manager.db.submit(
                    store.feed_request_progress,
                    request_id=run.request_id,
                    sent=run.sent,
                    completed_at=clock.now() if done else None,
                )
                if done:
                    self.runs.remove(run)
                    self.manager.active_requests.discard(run.request_id)


class FeedManager:
    """Starts a ``SessionFeed`` for each logged-on client session and hands it pending requests."""

    def __init__(self, db: store.Database) -> None:
        self.db = db
        self.feeds: dict[Connection, SessionFeed] = {}
        self.active_requests: set[int] = set()
        self.tasks: set[asyncio.Task] = set()

    def session_logged_on(self, session: Connection) -> None:
        if session.probe or session.state is None:
            return
        task = asyncio.create_task(self._attach(session))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _attach(self, session: Connection) -> None:
        try:
            profile = await self.db.run(store.feed_profile_load, target_id=session.address.target_id)
        except Exception:
            log.exception("cannot load the synthetic feed profile of target %s", session.address.target_id)
            return
        if not session.closed:
            self.feeds[session] = SessionFeed(self, session, profile)

    def session_ended(self, session: Connection) -> None:
        feed = self.feeds.get(session)
        if feed is not None:
            feed.task.cancel()  # its ``finally`` forgets it

    def feed_ended(self, feed: SessionFeed) -> None:
        if self.feeds.get(feed.session) is feed:
            del self.feeds[feed.session]
        for run in feed.runs:
            if run.request_id is not None:
                self.active_requests.discard(run.request_id)

    async def refresh(self) -> None:
        """Pick up pending feed requests of targets with a logged-on client session."""
        by_target: dict[int, SessionFeed] = {}
        for feed in sorted(self.feeds.values(), key=lambda f: f.session.address.market_segment or 0, reverse=True):
            if not feed.session.closed:
                by_target[feed.profile.target_id] = feed  # the lowest segment wins
        if not by_target:
            return
        pending = await self.db.run(
            store.feed_requests_pending, target_ids=sorted(by_target), exclude_ids=sorted(self.active_requests)
        )
        for request in pending:
            feed = by_target[request.target_id]
            if feed.session.closed or request.id in self.active_requests:
                continue
            self.active_requests.add(request.id)
            feed.add_request(request)

    async def stop(self) -> None:
        tasks = [feed.task for feed in self.feeds.values()] + list(self.tasks)
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*tasks, return_exceptions=True)
