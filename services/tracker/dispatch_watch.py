"""Registering dispatched cases for the live alerts (deadlines and hot spots; state in Redis).

The tracker knows which routing decision actually dispatched a case (the first one; replays and
a reconciler racing the stream change nothing), so it registers exactly those, stream and
reconciler alike, in the alert state that the router's deadline timer reads.  Hot spots and
deadlines already due are raised at once, each alert once (``AlertState.raise_new``).

Redis being away must not hold up the projection: decisions wait here (bounded) and the next
batch or the periodic flush registers them.  Only decisions waiting here when the tracker dies
while Redis is away miss their alerts (Redis keeps no alert state across its own restarts either).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from redis.exceptions import RedisError

from services.core.events import ComplaintRouted
from services.router.alert_state import AlertState
from services.router.alerts import AlertRaised

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
        self._retry_at = 0.0  # after a Redis failure only the periodic flush tries, not every batch
        self.registered = 0
        self.dropped = 0
        self.raised = 0

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def register(self, dispatched: list[ComplaintRouted]) -> None:
        """Add newly dispatched cases and register everything waiting (never raises)."""
        self._waiting.extend(dispatched)
        overflow = len(self._waiting) - self._max
        if overflow > 0:
            del self._waiting[:overflow]
            self.dropped += overflow
            log.error("alerts: Redis away too long; %d dispatched cases are not watched for deadlines", overflow)
        if time.monotonic() >= self._retry_at:
            await self.flush()

    async def flush(self) -> None:
        """Register everything waiting (the tracker calls this every second as well)."""
        async with self._lock:
            batch, self._waiting = self._waiting, []
            if not batch:
                return
            try:
                due = await self._state.track_routed_many(batch, datetime.now(UTC))
            except (RedisError, OSError) as exc:
                self._waiting = batch + self._waiting
                self._retry_at = time.monotonic() + 1.0
                log.warning("alerts: %d dispatched cases wait for Redis (%s: %s)", len(batch), type(exc).__name__, exc)
                return
            self.registered += len(batch)
            try:
                self.raised += await self._state.raise_new(due, self._send)
            except Exception as exc:  # noqa: BLE001 - deadline alerts come again from the router's check
                log.warning("alerts: raising %d alerts failed (%s: %s)", len(due), type(exc).__name__, exc)
