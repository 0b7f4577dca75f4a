from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from services.intake.wechat.fakes import FakeClock

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    # No skip: a missing Redis must fail the run (CI=true).
    client = Redis.from_url(REDIS_URL)
    await client.ping()
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis: Redis) -> AsyncIterator[str]:
    p = f"test:wechat:{uuid.uuid4().hex}:"
    yield p
    keys = [k async for k in redis.scan_iter(match=p + "*", count=500)]
    if keys:
        await redis.delete(*keys)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
