"""How far the tracker has applied the streams, as a moment in time (for the reconciler).

The reconciler repairs complaints that have no routed case ``route_timeout`` after they were
received.  When the tracker itself is behind (restarted after an outage, or catching up with a
backlog), the decisions for those complaints are usually waiting, unread, on complaints.routed:
repairing them would route thousands of complaints a second time and slow the catch-up down.  So
the reconciler's "now" is the moment up to which every stream record has been applied: the
time of the last record read on each partition that still has records to read (partitions that
are caught up, or never had a record, count as now).  Information older than ``stale_after_s`` is not trusted: a
consumer that stopped reading must not switch the safety net off.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

Partition = tuple[str, int]
EPOCH = datetime.fromtimestamp(0, UTC)


class StreamProgress:
    def __init__(self, stale_after_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._stale_after_s = stale_after_s
        self._clock = clock
        self._lag: dict[Partition, int] = {}
        self._last_at: dict[Partition, datetime] = {}
        self._assigned: frozenset[Partition] = frozenset()
        self._updated_at: float | None = None

    def observe(self, assigned: Iterable[Partition], read: dict[Partition, tuple[int, int | None]]) -> None:
        """After a batch: the assigned partitions, and per partition read the records still to read
        and the timestamp (ms) of the last record read."""
        self._assigned = frozenset(assigned)
        for part, (lag, last_ms) in read.items():
            self._lag[part] = lag
            if last_ms is not None and last_ms >= 0:
                self._last_at[part] = datetime.fromtimestamp(last_ms / 1000, UTC)
        self._updated_at = self._clock()

    def applied_until(self, now: datetime) -> datetime:
        """Every record produced before the returned moment has been applied (``now`` when caught up
        or when the information is stale)."""
        if self._updated_at is None or self._clock() - self._updated_at > self._stale_after_s:
            return now
        until = now
        for part in self._assigned:
            if self._lag.get(part, 0) == 0:
                continue
            until = min(until, self._last_at.get(part, EPOCH))
        return until
