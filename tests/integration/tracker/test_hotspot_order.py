"""A hot spot is found whatever order the records of one place arrive in (partitions run concurrently)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from services.core.alerts import AlertKind, AlertRaised
from services.core.events import ComplaintRouted
from services.router.alert_state import AlertState
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



async def test_the_window_ends_at_the_latest_complaint_of_the_place(state: AlertState) -> None:
    """Count and first time come from the window that ends at the newest complaint known for the
    place, also when that one came earlier (from another partition) than this batch's records."""
    now = datetime.now(UTC).replace(microsecond=0)
    place = "丁堰社区居委会"

    def batch(*minutes_ago: int) -> list[ComplaintRouted]:
        return [routed(f"RG202611269005{m:02d}", received_at=now - timedelta(minutes=m), village=place)
                for m in minutes_ago]

    async def hot_spots(*minutes_ago: int) -> list[AlertRaised]:
        return [a for a in await state.track_routed_many(batch(*minutes_ago), now) if a.kind == AlertKind.HOTSPOT]

    assert await hot_spots(150, 70, 68) == []  # 150 min ago: out of the window of the other two
    assert await hot_spots(0) == []  # the newest
    # a window ending at this batch (65 min ago) would hold 70, 68 and 65: a hot spot; the window
    # ending at the newest complaint holds only that one
    assert await hot_spots(65) == []
    found = await hot_spots(59, 30)
    assert len(found) == 1
    assert found[0].data["count"] == 3
    assert found[0].data["first_at"] == (now - timedelta(minutes=59)).strftime("%Y-%m-%dT%H:%M:%SZ")
