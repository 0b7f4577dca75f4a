"""Load generation and measurement helpers for `complaints bench` (aiohttp client, Redis feed)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import redis.asyncio as aioredis


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


@dataclass
class LoadResult:
    offered_per_s: float
    sent: int = 0
    ok: int = 0
    errors: int = 0
    post_latency_s: list[float] = field(default_factory=list)
    ticket_at: dict[str, float] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def achieved_per_s(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s else 0.0


async def offer(base_url: str, token: str, texts: list[str], rate: float, duration_s: float,
                concurrency: int = 256) -> LoadResult:
    """Send complaints at a fixed rate (open loop) for duration_s; record POST latency and 201 times."""
    result = LoadResult(offered_per_s=rate)
    total = int(rate * duration_s)
    sem = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(base_url, headers=headers, connector=connector, timeout=timeout) as session:

        async def one(i: int) -> None:
            body = {"channel": "hotline", "text": texts[i % len(texts)], "phone": f"139{i % 100000000:08d}"}
            async with sem:
                t0 = time.perf_counter()
                try:
                    async with session.post("/api/v1/complaints", json=body) as r:
                        data: Any = await r.json(content_type=None)
                        t1 = time.perf_counter()
                        if r.status == 201:
                            result.ok += 1
                            result.ticket_at[data["ticket_no"]] = t1
                            result.post_latency_s.append(t1 - t0)
                        else:
                            result.errors += 1
                except (TimeoutError, aiohttp.ClientError):
                    result.errors += 1
                    result.post_latency_s.append(10.0)

        start = time.perf_counter()
        tasks = []
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
            result.sent += 1
        await asyncio.gather(*tasks)
        result.elapsed_s = time.perf_counter() - start
    return result


class FeedWatcher:
    """Records when each ticket's case became visible (the tracker publishes after its commit)."""

    def __init__(self, redis_url: str, channel: str) -> None:
        self._redis = aioredis.from_url(redis_url)
        self._channel = channel
        self.seen: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._channel)
        self._task = asyncio.create_task(self._loop(pubsub))

    async def _loop(self, pubsub: Any) -> None:
        async for message in pubsub.listen():
            if message.get("type") != "message":
                continue
            change = json.loads(message["data"])
            if change.get("type") == "dispatched":
                self.seen.setdefault(change["ticket_no"], time.perf_counter())

    async def wait_for(self, tickets: list[str], timeout_s: float) -> None:
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline and any(t not in self.seen for t in tickets):
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        await self._redis.aclose()
