"""Load generation and measurement helpers for `complaints bench` (a lean HTTP client, Redis feed).

The load generator shares the two cores with the stack it measures, so it is kept lean: a
pool of keep-alive HTTP/1.1 connections over asyncio streams, requests written as bytes and
only the status line, the headers and the body read back (aiohttp cost ~0.4 ms of CPU per
request, as much as a third of what the API itself spends on one).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

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


class HttpError(Exception):
    """The connection broke or the answer was not HTTP/1.1 as expected."""


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    used_at: float


class LeanClient:
    """POST JSON over a pool of keep-alive connections (one request at a time on each)."""

    IDLE_S = 4.0  # uvicorn closes a keep-alive connection idle for 5 s

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        hostport = base_url.split("://", 1)[1].rstrip("/")
        host, _, port = hostport.partition(":")
        self.host, self.port = host, int(port or 80)
        self._head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": hostport, **headers}.items())
        self._idle: list[_Conn] = []

    async def _take(self) -> _Conn:
        now = time.perf_counter()
        while self._idle:
            conn = self._idle.pop()
            if now - conn.used_at < self.IDLE_S:
                return conn
            conn.writer.close()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return _Conn(reader, writer, now)

    async def post_json(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        payload = json.dumps(body, ensure_ascii=False).encode()
        request = (f"POST {path} HTTP/1.1\r\n{self._head}Content-Type: application/json\r\n"
                   f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload
        conn = await self._take()
        try:
            conn.writer.write(request)
            status_line = await conn.reader.readline()
            parts = status_line.split(b" ", 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
                raise HttpError(f"not an HTTP answer: {status_line[:80]!r}")
            length, keep = 0, True
            while (line := await conn.reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    keep = False
                elif name == b"transfer-encoding":
                    raise HttpError("chunked answers are not expected from this API")
            data = await conn.reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            conn.writer.close()
            raise HttpError(f"{type(exc).__name__}: {exc}") from exc
        except BaseException:
            conn.writer.close()
            raise
        if keep:
            conn.used_at = time.perf_counter()
            self._idle.append(conn)
        else:
            conn.writer.close()
        return int(parts[1]), data

    async def close(self) -> None:
        for conn in self._idle:
            conn.writer.close()
        self._idle.clear()


async def offer(base_url: str, token: str, texts: list[str], rate: float, duration_s: float,
                concurrency: int = 256) -> LoadResult:
    """Send complaints at a fixed rate (open loop) for duration_s; record POST latency and 201 times."""
    result = LoadResult(offered_per_s=rate)
    total = int(rate * duration_s)
    sem = asyncio.Semaphore(concurrency)
    client = LeanClient(base_url, {"Authorization": f"Bearer {token}"})
    try:

        async def one(i: int) -> None:
            body = {"channel": "hotline", "text": texts[i % len(texts)], "phone": f"139{i % 100000000:08d}"}
            async with sem:
                t0 = time.perf_counter()
                try:
                    status, raw = await asyncio.wait_for(client.post_json("/api/v1/complaints", body), 10)
                except (TimeoutError, HttpError):
                    result.errors += 1
                    result.post_latency_s.append(10.0)
                    return
                t1 = time.perf_counter()
                if status == 201:
                    result.ok += 1
                    result.ticket_at[json.loads(raw)["ticket_no"]] = t1
                    result.post_latency_s.append(t1 - t0)
                else:
                    result.errors += 1

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
    finally:
        await client.close()
    return result


class FeedWatcher:
    """Records when each ticket's case became visible (the tracker publishes after its commit)."""

    def __init__(self, redis_url: str, channel: str) -> None:
        self._redis = aioredis.Redis.from_url(redis_url)
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
