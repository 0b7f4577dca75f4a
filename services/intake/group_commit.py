"""Group commit for the intake log: concurrent requests share one transaction.

Every ticketed complaint is written before it is published.  One transaction per
request makes SQLite writers queue on its lock (and its busy handler sleeps in
steps of milliseconds); here a single writer thread takes whatever has queued
while the previous batch was being written and inserts it in one transaction.
A batch that violates a unique constraint is retried row by row, so only the
offending request sees the IntegrityError.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from services.intake.store import IntakeStore

Row = dict[str, Any]


class GroupCommitWriter:
    def __init__(self, store: IntakeStore, max_batch: int = 256) -> None:
        self._store = store
        self._max = max_batch
        self._queue: list[tuple[Row, asyncio.Future[None]]] = []
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="intake-writer")
        self._task: asyncio.Task[None] | None = None

    async def insert(self, **row: Any) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((row, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            batch, self._queue = self._queue[: self._max], self._queue[self._max:]
            try:
                await loop.run_in_executor(self._executor, self._store.insert_many, [r for r, _ in batch])
            except Exception:
                for row, future in batch:  # find the offender(s); the others still succeed
                    try:
                        await loop.run_in_executor(self._executor, self._store.insert_many, [row])
                    except Exception as exc:
                        _settle(future, exc)
                    else:
                        _settle(future, None)
                continue
            for _, future in batch:
                _settle(future, None)

    def close(self) -> None:
        self._executor.shutdown(wait=True)


def _settle(future: asyncio.Future[None], exc: BaseException | None) -> None:
    if future.done():  # the request was cancelled meanwhile
        return
    if exc is None:
        future.set_result(None)
    else:
        future.set_exception(exc)
