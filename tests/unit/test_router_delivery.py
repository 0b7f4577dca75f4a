"""The worker's delivery rules: every produced record reaches the broker before the input is acked,
and a Redis outage delays alert bookkeeping instead of crashing the agent."""

from __future__ import annotations

import asyncio
import logging

import pytest
from redis.exceptions import BusyLoadingError

from services.router.delivery import Outgoing, deliver, with_redis_retry


class FlakyTopic:
    """Answers like Faust's topic.send: a future per record; the first ``failures`` sends fail."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts: list[bytes] = []
        self.stored: list[bytes] = []

    async def send(self, *, key: bytes | None, value: bytes) -> asyncio.Future[int]:
        self.attempts.append(value)
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        if self.failures > 0:
            self.failures -= 1
            fut.set_exception(ConnectionError("broker restarting"))
        else:
            self.stored.append(value)
            fut.set_result(len(self.stored) - 1)
        return fut


async def test_deliver_sends_again_until_the_broker_has_every_record(caplog: pytest.LogCaptureFixture) -> None:
    topic = FlakyTopic(failures=5)
    records = [Outgoing(topic, f"k{i}".encode(), f"v{i}".encode()) for i in range(4)]
    with caplog.at_level(logging.WARNING):
        await deliver(records, first_delay_s=0.001, max_delay_s=0.002)
    assert sorted(topic.stored) == [b"v0", b"v1", b"v2", b"v3"]
    assert len(topic.attempts) == 4 + 5  # every failed send was made again, nothing else
    assert "not delivered" in caplog.text


async def test_deliver_returns_at_once_when_everything_arrives() -> None:
    topic = FlakyTopic(failures=0)
    await deliver([Outgoing(topic, None, b"x")])
    assert topic.attempts == [b"x"] and topic.stored == [b"x"]


async def test_deliver_stops_when_cancelled() -> None:
    class Cancelled(FlakyTopic):
        async def send(self, *, key: bytes | None, value: bytes) -> asyncio.Future[int]:
            fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            fut.cancel()
            return fut

    with pytest.raises(asyncio.CancelledError):
        await deliver([Outgoing(Cancelled(0), None, b"x")])


async def test_redis_retry_waits_for_redis_and_runs_the_follow_up_once() -> None:
    calls: list[int] = []
    seen: list[str] = []

    async def step() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise BusyLoadingError("Redis is loading the dataset in memory")
        return "alerts"

    async def then(result: str) -> None:
        seen.append(result)

    assert await with_redis_retry("hot spots", step, then, max_delay_s=0.01) is True
    assert len(calls) == 3 and seen == ["alerts"]


async def test_redis_retry_gives_up_after_its_deadline(caplog: pytest.LogCaptureFixture) -> None:
    async def step() -> str:
        raise ConnectionRefusedError("redis down")

    async def then(result: str) -> None:  # pragma: no cover - must not run
        raise AssertionError(result)

    with caplog.at_level(logging.ERROR):
        assert await with_redis_retry("hot spots", step, then, give_up_after_s=0.05, max_delay_s=0.01) is False
    assert "skipped, Redis away" in caplog.text
