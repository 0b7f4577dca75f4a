"""Which received records the broker already has a routing decision for (Redis).

Faust is at-least-once: a worker killed (SIGKILL) or rebalanced away reads again every record
after the group's last committed offset, up to half a second of work (``broker_commit_interval``)
or 100 records.  Routing those again would put a second decision for the same complaint on
``complaints.routed``: the projection ignores it, but every other consumer of the topic (a
squad's feed, an external system) would see the case twice.  So once the broker has acknowledged
a batch's decisions, the worker notes, per complaint, the record they were made for
(``partition:offset`` of ``complaints.received``), and skips a record it finds noted: the same
record read again.  A complaint published again (the relay of an adopted intake row, a new log
after the broker lost the old one) has another position and is routed again, as before.

The ledger is a shortcut, not a guard: when Redis is away the worker routes everything it reads
(at-least-once, consumers are idempotent) and notes nothing; a record is noted only after its
decision is delivered, so a kill between delivery and the note costs a duplicate, never a loss.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

TTL_S = 7 * 86400  # a worker down for days re-reads what it had not committed when it died
RETRY_AFTER_S = 1.0  # after a Redis failure, route without the ledger for this long


@dataclass(frozen=True)
class Position:
    complaint_id: str
    partition: int
    offset: int

    @property
    def value(self) -> str:
        return f"{self.partition}:{self.offset}"


class RoutedLedger:
    def __init__(self, redis: Redis, prefix: str, *, ttl_s: int = TTL_S) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl_s = ttl_s
        self._down_until = 0.0

    def _key(self, complaint_id: str) -> str:
        return f"{self._prefix}routed:{complaint_id}"

    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, what: str, exc: Exception) -> None:
        self._down_until = time.monotonic() + RETRY_AFTER_S
        log.warning("routed ledger: %s failed (%s: %s); routing without it", what, type(exc).__name__, exc)

    async def already_routed(self, positions: Sequence[Position]) -> set[Position]:
        """The positions whose record was routed before (read again after a restart or rebalance)."""
        if not positions or not self._available():
            return set()
        try:
            values = await self._redis.mget([self._key(p.complaint_id) for p in positions])
        except (RedisError, OSError) as exc:
            self._failed("lookup", exc)
            return set()
        seen: set[Position] = set()
        for position, raw in zip(positions, values, strict=True):
            stored = raw.decode() if isinstance(raw, bytes) else raw
            if stored == position.value:
                seen.add(position)
        return seen

    async def note(self, positions: Sequence[Position]) -> None:
        """Record that these positions' decisions are in the broker (call after delivery)."""
        if not positions or not self._available():
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for p in positions:
                    pipe.set(self._key(p.complaint_id), p.value, ex=self._ttl_s)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            self._failed("note", exc)
