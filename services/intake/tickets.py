"""Human ticket numbers: PREFIX + local date + 6-digit daily sequence, e.g. RG20261126000123.

Unique and sortable.  The counter lives in Redis (INCR); when Redis has lost it
(a restart) it is seeded from the largest ticket in the database, and the
database's unique constraint is the final guard.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

SEQ_DIGITS = 6


class TicketAllocator:
    def __init__(self, redis: Redis, *, prefix: str, timezone: str, key_prefix: str,
                 max_in_db: Callable[[str], str | None]) -> None:
        self._redis = redis
        self._prefix = prefix
        self._tz = ZoneInfo(timezone)
        self._key_prefix = key_prefix
        self._max_in_db = max_in_db

    def day_prefix(self, now: datetime) -> str:
        return self._prefix + now.astimezone(self._tz).strftime("%Y%m%d")

    async def next(self, now: datetime) -> str:
        """One Redis round trip in the common case: INCR; only a fresh counter (1) is checked against the DB."""
        day = self.day_prefix(now)
        key = f"{self._key_prefix}ticket:{day}"
        seq = int(await self._redis.incr(key))
        if seq == 1:
            await self._redis.expire(key, 3 * 86400)
            latest = await asyncio.to_thread(self._max_in_db, day)
            floor = int(latest[len(day):]) if latest else 0
            if floor >= seq:  # Redis lost the counter (restart): continue after the database
                seq = int(await self._redis.incrby(key, floor))
        return f"{day}{seq:0{SEQ_DIGITS}d}"

    async def reseed(self, now: datetime) -> None:
        """After a unique-constraint clash: take the counter past what the database holds."""
        day = self.day_prefix(now)
        latest = await asyncio.to_thread(self._max_in_db, day)
        if latest:
            key = f"{self._key_prefix}ticket:{day}"
            current = int(await self._redis.get(key) or 0)
            floor = int(latest[len(day):])
            if current < floor:
                await self._redis.incrby(key, floor - current)
