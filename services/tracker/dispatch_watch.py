"""Registering dispatched cases for the live alerts (deadlines and hot spots; state in Redis).

The tracker knows which routing decision actually dispatched a case (the first one; replays and
a reconciler racing the stream change nothing), so it registers exactly those, stream and
reconciler alike, in the alert state that the router's deadline timer reads.  Hot spots and
deadlines already due are raised at once, each alert once (``AlertState.raise_new``).

Redis being away must not hold up the projection: decisions queue here (bounded) and a task of
their own registers them, retrying every second.  Only decisions waiting here when the tracker dies
while Redis is away miss their alerts (Redis keeps no alert state across its own restarts either).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from redis.exceptions import RedisError

from services.core.alerts import AlertRaised
from services.core.events import ComplaintRouted
from services.router.alert_state import AlertState

log = logging.getLogger(__name__)

MAX_WAITING = 20_000


class DispatchWatch:
    def __init__(self, state: AlertState, send: Callable[[AlertRaised], Awaitable[None]],
                 max_waiting: int = MAX_WAITING) -> None:
        self._state = state
        self._send = send
        self._max = max_waiting
        self._waiting: list[ComplaintRouted] = []
        self._lock = asyncio.Lock()
        self._more = asyncio.Event()
        self.registered = 0
        self.dropped = 0
        self.raised = 0

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def add(self, dispatched: list[ComplaintRouted]) -> None:
        """Queue newly dispatched cases for :meth:`run` (never waits: the projection goes on)."""
        if not dispatched:
            return
        self._waiting.extend(dispatched)
        overflow = len(self._waiting) - self._max
        if overflow > 0:
            del self._waiting[:overflow]
            self.dropped += overflow
            log.error("alerts: Redis away too long; %d dispatched cases are not watched for deadlines", overflow)
        self._more.set()

    async def run(self, retry_s: float = 1.0) -> None:
        """Register queued cases as they come; after a failure, try again every ``retry_s``."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._more.wait(), retry_s)
            self._more.clear()
            try:
                done = await self.flush()
            except Exception:  # a bug must not end the registration of later cases
                log.exception("alerts: registering dispatched cases failed")
                done = False
            if not done:
                await asyncio.sleep(retry_s)

    async def flush(self) -> bool:
        """Register everything queued; False if Redis did not answer (the cases stay queued)."""
        async with self._lock:
            batch, self._waiting = self._waiting, []
            if not batch:
                return True
            try:
                due = await self._state.track_routed_many(batch, datetime.now(UTC))
            except (RedisError, OSError) as exc:
                self._waiting = batch + self._waiting
                log.warning("alerts: %d dispatched cases wait for Redis (%s: %s)", len(batch), type(exc).__name__, exc)
                return False
            self.registered += len(batch)
            try:
                self.raised += await self._state.raise_new(due, self._send)
            except Exception as exc:  # noqa: BLE001 - deadline alerts come again from the router's check
                log.warning("alerts: raising %d alerts failed (%s: %s)", len(due), type(exc).__name__, exc)
            return True
