"""A hot spot is found whatever order the records of one place arrive in (partitions run concurrently)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from services.router.alert_state import AlertState
from services.router.alerts import AlertKind
from tests.integration.tracker.test_alerts_stream import routed


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(client: aioredis.Redis) -> AsyncIterator[str]:
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    yield prefix
    keys = [k async for k in client.scan_iter(f"{prefix}*")]
    if keys:
        await client.delete(*keys)


@pytest.fixture
def state(client: aioredis.Redis, prefix: str) -> AlertState:
    return AlertState(client, prefix, hotspot_threshold=3, hotspot_window=timedelta(hours=1))


async def test_hot_spot_found_when_records_arrive_newest_first(state: AlertState) -> None:
    now = datetime.now(UTC)
    events = [routed(f"RG2026112690020{i}", received_at=now - timedelta(minutes=i), village="东陈社区居委会")
              for i in range(3)]  # newest first: the oldest arrives last
    found = []
    for ev in events:
        found += [a for a in await state.track_routed(ev, now) if a.kind == AlertKind.HOTSPOT]
    assert len(found) == 1 and found[0].data["count"] == 3 and found[0].place == "东陈社区居委会"


async def test_a_batch_watches_each_case_once_and_judges_each_place_once(
        state: AlertState, client: aioredis.Redis, prefix: str) -> None:
    now = datetime.now(UTC)
    hot = [routed(f"RG2026112690030{i}", received_at=now - timedelta(minutes=i), village="东陈社区居委会")
           for i in range(4)]
    quiet = routed("RG20261126900400", received_at=now, village="白蒲社区居委会")
    alerts = await state.track_routed_many([*hot, quiet, hot[0]], now)  # hot[0] replayed inside the batch
    spots = [a for a in alerts if a.kind == AlertKind.HOTSPOT]
    assert len(spots) == 1 and spots[0].place == "东陈社区居委会" and spots[0].data["count"] == 4
    assert await client.zcard(f"{prefix}alerts:due") == 5  # every distinct case watched once
    assert await state.track_routed_many([], now) == []
